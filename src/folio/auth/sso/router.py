"""Sign-in through OpenID Connect providers (`FOLIO_SSO__PROVIDERS`): Google or any other."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from folio.auth.deps import TokensDep
from folio.auth.errors import InvalidCredentials
from folio.auth.schemas import TokenResponse, UserRead
from folio.auth.service import TokenPair
from folio.auth.sso import oidc
from folio.auth.sso import service as sso
from folio.auth.sso.errors import (
    ReturnUrlNotAllowed,
    SsoAccountDisabled,
    SsoEmailUnverified,
    SsoError,
    SsoFlowExpired,
    SsoIdTokenInvalid,
    SsoProviderDenied,
    SsoProviderNotFound,
    SsoProviderUnavailable,
    SsoStateInvalid,
    SsoTicketInvalid,
)
from folio.auth.sso.schemas import CallbackResult, ExchangeRequest, LinkRequest, LinkRequired, ProviderRead, SignedIn
from folio.deps import API_V1, SessionDep, SettingsDep, limit_auth_attempts
from folio.error_handlers import error_responses
from folio.errors import Conflict, RateLimitExceeded, ValidationFailed
from folio.routing import Router
from folio.settings import SsoProvider

PREFIX = f"{API_V1}/auth/sso"
router = Router(prefix=PREFIX, tags=["auth"])
_attempts = [Depends(limit_auth_attempts)]
# Binds a flow to the browser that started it: a callback URL carried to another browser (login CSRF: someone
# signing a victim in to the attacker's account) finds no matching cookie there.
BROWSER_COOKIE = "folio_sso_browser"
_NO_STORE = {"Cache-Control": "no-store"}

_FLOW = """
The sign-in, for a front end: send the browser to `GET /api/v1/auth/sso/{provider}/start?return_to=<your URL>`.
It goes to the provider (authorization code flow with PKCE S256, a state and a nonce) and comes back to
`/callback`, which verifies the ID token (signature by the provider's published keys, `iss`, `aud`, `exp`, `iat`,
the nonce) and requires `email_verified`. The browser then returns to `return_to` with one of:

* `sso_code`: single use, valid for 60 seconds: `POST /api/v1/auth/sso/exchange {"code": ...}` returns Folio's access
  and refresh tokens, as login does (tokens never travel in a URL).
* `sso_link`: the verified address belongs to an existing account that is not linked to this provider identity.
  Nothing is linked silently: `POST /api/v1/auth/sso/link {"ticket": ..., "password": ...}` with that account's
  password links the identity and returns the tokens. The ticket allows one attempt.
* `sso_error`: the error code (below) of a failed sign-in.

Without `return_to`, `/callback` answers with JSON itself: the tokens (`status: signed_in`) or the link ticket
(`status: link_required`), and errors in the usual envelope. A person who signs in for the first time with an
address no account holds gets a new account and a personal organization, as registration makes; such an account
has no usable password. Flows expire after `FOLIO_SSO__FLOW_MINUTES` and are bound to the browser that started them
by an HttpOnly cookie.
"""


def _provider(provider: str, settings: SettingsDep) -> SsoProvider:
    return sso.provider_named(settings.sso, provider)


ProviderDep = Annotated[SsoProvider, Depends(_provider)]


def _redirect_uri(request: Request, settings: SettingsDep, provider: SsoProvider) -> str:
    path = f"{PREFIX}/{provider.name}/callback"
    if settings.sso.public_url:
        return settings.sso.public_url.rstrip("/") + path
    return str(request.base_url).rstrip("/") + path


@router.get("", response_model=list[ProviderRead], summary="List the sign-in providers")
async def list_sso_providers(settings: SettingsDep) -> list[ProviderRead]:
    return [ProviderRead(name=each.name, label=each.label or each.name) for each in settings.sso.providers]


@router.get(
    "/{provider}/start",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    dependencies=_attempts,
    responses={
        302: {"description": "To the provider's authorization endpoint."},
        **error_responses(
            SsoProviderNotFound, ReturnUrlNotAllowed, SsoProviderUnavailable, ValidationFailed, RateLimitExceeded
        ),
    },
    summary="Start signing in through a provider",
    description=_FLOW + "\n`return_to` must lie under one of `FOLIO_SSO__RETURN_URLS` (same origin, path prefix).",
)
async def start_sso(
    request: Request,
    provider: ProviderDep,
    settings: SettingsDep,
    session: SessionDep,
    return_to: Annotated[str | None, Query(max_length=2000, description="Where the browser returns.")] = None,
) -> RedirectResponse:
    if return_to is not None:
        sso.allowed_return_to(settings.sso, return_to)
    browser_key = request.cookies.get(BROWSER_COOKIE) or oidc.new_secret()
    redirect_uri = _redirect_uri(request, settings, provider)
    url = await sso.start(
        session,
        settings=settings.sso,
        provider=provider,
        redirect_uri=redirect_uri,
        return_to=return_to,
        browser_key=browser_key,
    )
    response = RedirectResponse(url, status_code=status.HTTP_302_FOUND, headers=_NO_STORE)
    response.set_cookie(
        BROWSER_COOKIE,
        browser_key,
        max_age=settings.sso.flow_minutes * 60,
        path=PREFIX,
        secure=redirect_uri.startswith("https://"),
        httponly=True,
        samesite="lax",
    )
    return response


@router.get(
    "/{provider}/callback",
    response_model=CallbackResult,
    dependencies=_attempts,
    responses={
        303: {"description": "Back to `return_to`, with `sso_code`, `sso_link` or `sso_error`."},
        **error_responses(
            SsoProviderNotFound,
            SsoStateInvalid,
            SsoFlowExpired,
            SsoProviderDenied,
            SsoIdTokenInvalid,
            SsoEmailUnverified,
            SsoAccountDisabled,
            SsoProviderUnavailable,
            Conflict,
            ValidationFailed,
            RateLimitExceeded,
        ),
    },
    summary="Where the provider sends the browser back",
    description=_FLOW,
)
async def sso_callback(
    request: Request,
    response: Response,
    provider: ProviderDep,
    settings: SettingsDep,
    tokens: TokensDep,
    session: SessionDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=128)] = None,
    error: Annotated[str | None, Query(max_length=200, description="The provider's OAuth error code.")] = None,
) -> SignedIn | LinkRequired | Response:
    response.headers.update(_NO_STORE)
    try:
        outcome = await sso.callback(
            session,
            settings=settings.sso,
            tokens=tokens,
            provider=provider,
            state=state,
            code=code,
            error=error,
            browser_key=request.cookies.get(BROWSER_COOKIE),
        )
    except SsoError as failure:
        target = sso.error_redirect(failure)
        if target is None:
            raise
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER, headers=_NO_STORE)
    if isinstance(outcome, sso.ReturnTo):
        return RedirectResponse(outcome.url, status_code=status.HTTP_303_SEE_OTHER, headers=_NO_STORE)
    if isinstance(outcome, sso.LinkRequired):
        return LinkRequired(
            link_ticket=outcome.ticket, email=outcome.email, provider=outcome.provider, expires_in=outcome.expires_in
        )
    return SignedIn(**_token_fields(outcome.pair), user=UserRead.model_validate(outcome.user), created=outcome.created)


@router.post(
    "/exchange",
    response_model=TokenResponse,
    dependencies=_attempts,
    responses=error_responses(SsoTicketInvalid, SsoAccountDisabled, ValidationFailed, RateLimitExceeded),
    summary="Trade the one-time code of a sign-in for tokens",
    description="The `sso_code` the browser came back to `return_to` with: single use, valid for 60 seconds.",
)
async def exchange_sso_code(
    body: ExchangeRequest, response: Response, session: SessionDep, tokens: TokensDep
) -> TokenResponse:
    response.headers.update(_NO_STORE)
    return TokenResponse(**_token_fields(await sso.exchange(session, code=body.code, tokens=tokens)))


@router.post(
    "/link",
    response_model=TokenResponse,
    dependencies=_attempts,
    responses=error_responses(SsoTicketInvalid, InvalidCredentials, Conflict, ValidationFailed, RateLimitExceeded),
    summary="Link a provider identity to your existing account, with its password",
    description="The `link_ticket` (or `sso_link`) of a sign-in whose verified address an existing account holds, "
    "and that account's password: the identity is linked and the tokens returned. One attempt per ticket.",
)
async def link_sso_identity(
    body: LinkRequest, response: Response, session: SessionDep, tokens: TokensDep
) -> TokenResponse:
    response.headers.update(_NO_STORE)
    pair = await sso.link(session, ticket=body.ticket, password=body.password, tokens=tokens)
    return TokenResponse(**_token_fields(pair))


def _token_fields(pair: TokenPair) -> dict[str, str | int]:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token, "expires_in": pair.expires_in}
