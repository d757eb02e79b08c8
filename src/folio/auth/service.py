"""Registration, login, refresh-token rotation, logout, and turning an access token into a principal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from folio.audit.service import AuditAction, audit_user_event
from folio.auth import passwords
from folio.auth.errors import AuthExpired, AuthInvalid, EmailTaken, InvalidCredentials, OrgAccessDenied, SsoRequired
from folio.auth.identity import Identity
from folio.auth.principal import Principal
from folio.auth.repository import AuthRepository
from folio.auth.sso.repository import SsoRepository
from folio.auth.tokens import AccessTokens, new_refresh_token, secret_digest
from folio.db import release
from folio.errors import Forbidden
from folio.models import AuthSession, Organization, RefreshToken, User
from folio.orgs import service as orgs

log = structlog.get_logger(__name__)


class RefreshTokenReused(AuthInvalid):
    """Presenting a rotated refresh token again revokes its whole session, whoever holds the newer one."""

    keep_changes = True


class LoginFailed(InvalidCredentials):
    """A failed login of an existing account: the answer is the same, and its audit entries are kept."""

    keep_changes = True


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105


def now() -> datetime:
    """The clock of refresh-token rotation; tests move it instead of sleeping."""
    return datetime.now(UTC)


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(session: AsyncSession, *, email: str, password: str, name: str) -> tuple[User, Organization]:
    """A new user and their personal organization, which they own.

    The password is hashed before the email is looked up, so a taken address costs as much as a new one (its
    answer took ~6 ms instead of ~235 ms), and no connection is held while argon2 runs.
    """
    passwords.check_strength(password)
    await release(session)
    password_hash = await passwords.hash_password(password)
    repository = AuthRepository(session)
    email = normalize_email(email)
    if await repository.user_by_email(email) is not None:
        raise EmailTaken()
    user = User(email=email, name=name.strip(), password_hash=password_hash)
    try:
        await repository.add(user)
    except IntegrityError as exc:  # a concurrent registration won the race for this email
        raise EmailTaken() from exc
    org = await orgs.create_org(session, name=f"{user.name}'s workspace", owner_id=user.id, personal=True)
    return user, org


async def start_session(session: AsyncSession, *, user: User, tokens: AccessTokens) -> TokenPair:
    repository = AuthRepository(session)
    auth_session = AuthSession(user_id=user.id)
    await repository.add(auth_session)
    return await _issue(repository, auth_session=auth_session, tokens=tokens)


async def login(
    session: AsyncSession, *, email: str, password: str, tokens: AccessTokens, sso_providers: Sequence[str] = ()
) -> TokenPair:
    """Read the user in one short transaction, verify with no connection held, write the session in another.

    A member (other than an owner) of an organization that requires a sign-in provider is refused, after the
    password is checked so that the refusal tells nothing to someone without it."""
    user = await AuthRepository(session).user_by_email(normalize_email(email))
    await release(session)
    valid = await passwords.verify_password(password, user.password_hash if user else None)
    if user is None:
        # No organization to tell; the address is not logged, as it may be a password typed in the wrong field.
        log.info("login_failed", reason="unknown_email")
        raise InvalidCredentials()
    if not valid or not user.is_active:
        reason = "wrong_password" if not valid else "account_disabled"
        await audit_user_event(
            session, user_id=user.id, action=AuditAction.LOGIN_FAILED, by_user=False, details={"reason": reason}
        )
        raise LoginFailed()
    if await SsoRepository(session).is_sso_required_for(user.id):
        await audit_user_event(
            session, user_id=user.id, action=AuditAction.LOGIN_FAILED, by_user=False, details={"reason": "sso_required"}
        )
        raise SsoRequired(details={"providers": list(sso_providers)})
    pair = await start_session(session, user=user, tokens=tokens)
    await audit_user_event(session, user_id=user.id, action=AuditAction.LOGIN, by_user=True)
    return pair


async def refresh(session: AsyncSession, *, refresh_token: str, tokens: AccessTokens) -> TokenPair:
    """Rotate a refresh token. A used token presented again within the grace window (two tabs refreshing at once)
    gets a new pair in the same session; after the window it is reuse, and the whole session is revoked."""
    repository = AuthRepository(session)
    found = await repository.refresh_token_for_update(secret_digest(refresh_token))
    if found is None:
        raise AuthInvalid("Unknown refresh token.")
    token, auth_session = found
    if auth_session.revoked_at is not None:
        raise AuthInvalid("This session has been revoked; log in again.")
    current = now()
    if token.used_at is not None and not _within_grace(token.used_at, current, tokens.settings.refresh_grace_seconds):
        await repository.revoke_session(auth_session.id, reason="refresh_token_reuse")
        await audit_user_event(
            session,
            user_id=auth_session.user_id,
            action=AuditAction.SESSION_REVOKED,
            by_user=False,
            details={"reason": "refresh_token_reuse"},
        )
        raise RefreshTokenReused("This refresh token was already used; the session is revoked. Log in again.")
    if token.expires_at <= current:
        raise AuthExpired("The refresh token has expired; log in again.")
    user = await repository.user_by_id(auth_session.user_id)
    if user is None or not user.is_active:
        raise AuthInvalid()
    # The window runs from the first use: presenting the token again never extends it.
    if token.used_at is None:
        token.used_at = current
    return await _issue(repository, auth_session=auth_session, tokens=tokens)


def _within_grace(used_at: datetime, current: datetime, grace_seconds: int) -> bool:
    return grace_seconds > 0 and current - used_at <= timedelta(seconds=grace_seconds)


async def logout(session: AsyncSession, *, principal: Principal) -> None:
    """Revoke the login session: its refresh tokens and every access token issued in it."""
    if principal.session_id is None:
        raise Forbidden("API keys have no session; revoke the key instead.")
    await AuthRepository(session).revoke_session(principal.session_id, reason="logout")
    if principal.user_id is not None:
        await audit_user_event(session, user_id=principal.user_id, action=AuditAction.LOGOUT, by_user=True)


async def identity_from_access_token(
    session: AsyncSession, *, token: str, org_id: UUID | None, tokens: AccessTokens
) -> Identity:
    claims = tokens.decode(token)
    org_id = org_id or claims.org_id
    if org_id is None:
        raise OrgAccessDenied("You belong to no organization yet; send X-Org-Id once you do.")
    context = await AuthRepository(session).access_context(
        user_id=claims.user_id, session_id=claims.session_id, org_id=org_id
    )
    if context is None or not context.user_active or context.session_revoked:
        raise AuthInvalid("This token has been revoked.")
    if context.role is None or context.org is None:
        raise OrgAccessDenied()
    principal = Principal.for_member(
        org_id=org_id, user_id=claims.user_id, role=context.role, session_id=claims.session_id, units=context.units
    )
    return Identity(principal=principal, org=context.org, user=context.user, api_key=None, expires_at=claims.expires_at)


async def _issue(repository: AuthRepository, *, auth_session: AuthSession, tokens: AccessTokens) -> TokenPair:
    refresh_token = new_refresh_token()
    await repository.add(
        RefreshToken(
            session_id=auth_session.id,
            token_hash=secret_digest(refresh_token),
            expires_at=now() + tokens.settings.refresh_token_ttl,
        )
    )
    org_id = await repository.default_org_id(auth_session.user_id)
    access_token = tokens.issue(user_id=auth_session.user_id, session_id=auth_session.id, org_id=org_id)
    return TokenPair(access_token=access_token, refresh_token=refresh_token, expires_in=tokens.lifetime_seconds)
