"""Sign-in through an OpenID Connect provider, step by step, each step an `auth_flows` row found by a secret's hash:

1. `start`: a flow ("authorize") with the state's hash, the nonce and the PKCE verifier; the browser goes to the
   provider, and a cookie binds the flow to that browser.
2. `callback`: the flow is used up first (whatever follows), the code exchanged and the ID token verified. The
   provider identity (issuer, subject) signs its member in; an unknown identity whose verified email has no account
   gets a new account; one whose email belongs to an existing account is never linked silently: a "link" ticket is
   handed out, which the person redeems with that account's password (`link`).
3. With a `return_to`, tokens never travel in a URL: the browser goes back with a one-time "exchange" code, which
   the front end trades for the token pair (`exchange`) within `EXCHANGE_SECONDS`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from folio.audit.service import AuditAction, audit, audit_user_event
from folio.auth import passwords
from folio.auth import service as auth
from folio.auth.principal import Principal, Scope
from folio.auth.repository import AuthRepository
from folio.auth.sso import oidc
from folio.auth.sso.errors import (
    ReturnUrlNotAllowed,
    SsoAccountDisabled,
    SsoEmailUnverified,
    SsoError,
    SsoFlowExpired,
    SsoIdentityRequired,
    SsoProviderDenied,
    SsoProviderNotFound,
    SsoStateInvalid,
    SsoTicketInvalid,
)
from folio.auth.sso.repository import SsoRepository
from folio.auth.tokens import AccessTokens, secret_digest
from folio.db import release
from folio.errors import Conflict, Forbidden
from folio.models import AuthFlow, Organization, User, UserIdentity
from folio.orgs import service as orgs
from folio.settings import SsoProvider, SsoSettings

log = structlog.get_logger(__name__)

PURPOSE = "sign_in"
AUTHORIZE, LINK, EXCHANGE = "authorize", "link", "exchange"
# The front end trades the code right after the redirect; a code that leaked later (history, a log) is dead.
EXCHANGE_SECONDS = 60


def now() -> datetime:
    """The clock of flows; tests move it instead of sleeping."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SignedIn:
    pair: auth.TokenPair
    user: User
    created: bool


@dataclass(frozen=True, slots=True)
class LinkRequired:
    ticket: str
    email: str
    provider: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class ReturnTo:
    """Send the browser to this front-end URL (it carries a one-time code or a link ticket, never a token)."""

    url: str


def provider_named(settings: SsoSettings, name: str) -> SsoProvider:
    for provider in settings.providers:
        if provider.name == name:
            return provider
    raise SsoProviderNotFound()


def _origin_and_path(url: str) -> tuple[str, str, int | None, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80), parts.path or "/"


def allowed_return_to(settings: SsoSettings, url: str) -> str:
    """`url` when it has the origin of an allowed URL and lies under its path; `ReturnUrlNotAllowed` otherwise.

    Paths with dot segments (which a browser resolves, `/app/../admin`), backslashes (read as slashes) or control
    characters are refused outright."""
    wanted = _origin_and_path(url)
    path = wanted[3] if wanted else ""
    segments = unquote(path).split("/")
    if wanted is None or "\\" in url or any(ord(c) < 33 for c in url) or {".", ".."} & set(segments):
        raise ReturnUrlNotAllowed()
    for allowed in settings.return_urls:
        base = _origin_and_path(allowed)
        if base is None or base[:3] != wanted[:3]:
            continue
        prefix = base[3] if base[3].endswith("/") else base[3] + "/"
        if path == base[3] or path.startswith(prefix):
            return url
    raise ReturnUrlNotAllowed()


def with_params(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params.items()]
    return urlunsplit(parts._replace(query=urlencode(query)))


def error_redirect(error: SsoError) -> str | None:
    """Where a browser that came with a `return_to` is sent when its sign-in fails (the code in `sso_error`)."""
    return with_params(error.return_to, sso_error=error.code) if error.return_to else None


def _matches(secret: str, digest: str | None) -> bool:
    return digest is not None and hmac.compare_digest(secret_digest(secret), digest)


async def start(
    session: AsyncSession,
    *,
    settings: SsoSettings,
    provider: SsoProvider,
    redirect_uri: str,
    return_to: str | None,
    browser_key: str,
) -> str:
    """The provider's authorization URL for a new flow (discovery runs before any connection is taken)."""
    state, nonce, verifier = oidc.new_secret(), oidc.new_secret(), oidc.new_secret()
    url = await oidc.authorization_url(
        provider, redirect_uri=redirect_uri, state=state, nonce=nonce, code_verifier=verifier
    )
    current = now()
    repository = SsoRepository(session)
    await repository.add(
        AuthFlow(
            state_hash=secret_digest(state),
            purpose=PURPOSE,
            provider=provider.name,
            nonce=nonce,
            code_verifier=verifier,
            redirect_uri=redirect_uri,
            return_to=return_to,
            data={"step": AUTHORIZE, "browser": secret_digest(browser_key)},
            expires_at=current + timedelta(minutes=settings.flow_minutes),
        )
    )
    return url


async def callback(
    session: AsyncSession,
    *,
    settings: SsoSettings,
    tokens: AccessTokens,
    provider: SsoProvider,
    state: str | None,
    code: str | None,
    error: str | None,
    browser_key: str | None,
) -> SignedIn | LinkRequired | ReturnTo:
    """The provider's answer. The flow is used up and committed before anything else, so neither a replay nor a
    second try after a failure passes; errors raised past that point carry the flow's `return_to`."""
    repository = SsoRepository(session)
    flow = await repository.flow_for_update(secret_digest(state)) if state else None
    if flow is None or flow.data.get("step") != AUTHORIZE or flow.provider != provider.name:
        raise SsoStateInvalid(reason="unknown")
    if flow.used_at is not None:
        raise SsoStateInvalid(reason="used", return_to=flow.return_to)
    current = flow.used_at = now()
    await release(session)
    try:
        if flow.expires_at <= current:
            raise SsoFlowExpired()
        if browser_key is None or not _matches(browser_key, flow.data.get("browser")):
            raise SsoStateInvalid(reason="browser")
        if error is not None or not code:
            raise SsoProviderDenied(reason=oidc.oauth_error(error or "invalid_request"))
        assert flow.nonce is not None  # noqa: S101 -- start() sets both
        assert flow.code_verifier is not None  # noqa: S101
        claims = await oidc.exchange_code(
            provider, code=code, redirect_uri=flow.redirect_uri, code_verifier=flow.code_verifier, nonce=flow.nonce
        )
        if not claims.email_verified or not claims.email:
            raise SsoEmailUnverified()
        return await _sign_in(session, settings=settings, tokens=tokens, provider=provider, flow=flow, claims=claims)
    except SsoError as failure:
        failure.return_to = flow.return_to
        log.info("sso_sign_in_failed", provider=provider.name, code=failure.code, reason=failure.details.get("reason"))
        raise


async def _sign_in(
    session: AsyncSession,
    *,
    settings: SsoSettings,
    tokens: AccessTokens,
    provider: SsoProvider,
    flow: AuthFlow,
    claims: oidc.VerifiedClaims,
) -> SignedIn | LinkRequired | ReturnTo:
    assert claims.email is not None  # noqa: S101 -- checked by callback()
    repository = SsoRepository(session)
    email = auth.normalize_email(claims.email)
    user = await repository.user_of_identity(issuer=claims.issuer, subject=claims.subject)
    created = False
    if user is None:
        existing = await AuthRepository(session).user_by_email(email)
        if existing is not None:
            return await _offer_link(session, settings=settings, flow=flow, user=existing, claims=claims, email=email)
        user = await _create_user(session, provider=provider, claims=claims, email=email)
        created = True
    if not user.is_active:
        raise SsoAccountDisabled()
    if flow.return_to is not None:
        code = await _step(session, flow=flow, step=EXCHANGE, user=user, lifetime=timedelta(seconds=EXCHANGE_SECONDS))
        return ReturnTo(with_params(flow.return_to, sso_code=code))
    pair = await _session_for(session, user=user, tokens=tokens, provider=provider.name)
    return SignedIn(pair=pair, user=user, created=created)


async def _create_user(
    session: AsyncSession, *, provider: SsoProvider, claims: oidc.VerifiedClaims, email: str
) -> User:
    """An account with a personal organization, as registration makes, whose password nobody knows (a random secret,
    hashed and forgotten): it signs in through the provider only."""
    name = (claims.name or email.split("@", 1)[0]).strip()[:200] or email
    user, _ = await auth.create_user(session, email=email, password=oidc.new_secret(), name=name)
    user.auth_provider = provider.name
    await _add_identity(
        session, user=user, provider=provider.name, issuer=claims.issuer, subject=claims.subject, email=email
    )
    return user


async def _add_identity(
    session: AsyncSession, *, user: User, provider: str, issuer: str, subject: str, email: str
) -> None:
    identity = UserIdentity(user_id=user.id, provider=provider, issuer=issuer, subject=subject, email=email)
    try:
        await SsoRepository(session).add(identity)
    except IntegrityError as exc:  # a concurrent sign-in of the same identity linked it first
        raise Conflict("This provider identity was linked meanwhile; sign in again.") from exc


async def _offer_link(
    session: AsyncSession,
    *,
    settings: SsoSettings,
    flow: AuthFlow,
    user: User,
    claims: oidc.VerifiedClaims,
    email: str,
) -> LinkRequired | ReturnTo:
    lifetime = timedelta(minutes=settings.flow_minutes)
    identity = {"issuer": claims.issuer, "subject": claims.subject, "email": email}
    ticket = await _step(session, flow=flow, step=LINK, user=user, lifetime=lifetime, identity=identity)
    if flow.return_to is not None:
        return ReturnTo(with_params(flow.return_to, sso_link=ticket))
    return LinkRequired(ticket=ticket, email=email, provider=flow.provider, expires_in=int(lifetime.total_seconds()))


async def _step(
    session: AsyncSession,
    *,
    flow: AuthFlow,
    step: str,
    user: User,
    lifetime: timedelta,
    identity: dict[str, str] | None = None,
) -> str:
    """A single-use secret for the next step of `flow`; only its hash is stored."""
    secret = oidc.new_secret()
    data: dict[str, Any] = {"step": step} | ({"identity": identity} if identity else {})
    await SsoRepository(session).add(
        AuthFlow(
            state_hash=secret_digest(secret),
            purpose=PURPOSE,
            provider=flow.provider,
            user_id=user.id,
            redirect_uri=flow.redirect_uri,
            return_to=flow.return_to,
            data=data,
            expires_at=now() + lifetime,
        )
    )
    return secret


async def _use_step(session: AsyncSession, *, secret: str, step: str) -> tuple[AuthFlow, User]:
    """The flow step of a ticket or code, used up now; `SsoTicketInvalid` when it is unknown, used or expired."""
    flow = await SsoRepository(session).flow_for_update(secret_digest(secret))
    current = now()
    if flow is None or flow.data.get("step") != step or flow.used_at is not None or flow.expires_at <= current:
        raise SsoTicketInvalid()
    flow.used_at = current
    user = await AuthRepository(session).user_by_id(flow.user_id) if flow.user_id else None
    if user is None:
        raise SsoTicketInvalid()
    return flow, user


async def _session_for(session: AsyncSession, *, user: User, tokens: AccessTokens, provider: str) -> auth.TokenPair:
    pair = await auth.start_session(session, user=user, tokens=tokens)
    details = {"provider": provider}
    await audit_user_event(session, user_id=user.id, action=AuditAction.LOGIN, by_user=True, details=details)
    return pair


async def exchange(session: AsyncSession, *, code: str, tokens: AccessTokens) -> auth.TokenPair:
    flow, user = await _use_step(session, secret=code, step=EXCHANGE)
    if not user.is_active:
        raise SsoAccountDisabled()
    return await _session_for(session, user=user, tokens=tokens, provider=flow.provider)


async def link(session: AsyncSession, *, ticket: str, password: str, tokens: AccessTokens) -> auth.TokenPair:
    """Link the provider identity of a ticket to the account it names, once the account's password is given.

    The ticket is used up by this one attempt (committed before the password is checked), so each password guess
    costs a whole sign-in at the provider."""
    flow, user = await _use_step(session, secret=ticket, step=LINK)
    password_hash = user.password_hash
    await release(session)
    if not await passwords.verify_password(password, password_hash) or not user.is_active:
        details = {"reason": "link_password"}
        await audit_user_event(
            session, user_id=user.id, action=AuditAction.LOGIN_FAILED, by_user=False, details=details
        )
        raise auth.LoginFailed()
    identity = flow.data["identity"]
    await _add_identity(
        session,
        user=user,
        provider=flow.provider,
        issuer=identity["issuer"],
        subject=identity["subject"],
        email=identity["email"],
    )
    log.info("sso_identity_linked", provider=flow.provider, user_id=str(user.id))
    return await _session_for(session, user=user, tokens=tokens, provider=flow.provider)


async def set_require_sso(
    session: AsyncSession, *, principal: Principal, settings: SsoSettings, required: bool
) -> Organization:
    """Turn on or off sign-in through a provider only, for the organization's members other than its owners.

    Turning it on needs an admin in person whose account is linked to a configured provider (they can still sign
    in), and revokes the login sessions of the members it applies to (they may have signed in with a password), the
    caller's own aside."""
    if not principal.has(Scope.ADMIN):
        raise Forbidden("Only owners and admins can do this.")
    org = await orgs.get_org(session, principal=principal)
    if org.require_sso == required:
        return org
    repository = SsoRepository(session)
    revoked = 0
    if required:
        names = [provider.name for provider in settings.providers]
        if principal.member_id is None or not await repository.has_identity(principal.member_id, names):
            raise SsoIdentityRequired()
        revoked = await repository.revoke_member_sessions(org.id, except_session=principal.session_id, moment=now())
    org.require_sso = required
    await audit(
        session,
        org_id=org.id,
        action=AuditAction.ORG_UPDATED,
        actor=principal,
        target_type="organization",
        target_id=org.id,
        details={"require_sso": {"from": not required, "to": required}, "sessions_revoked": revoked},
    )
    await session.flush()
    return org
