"""Authentication: turn `Authorization: Bearer` or `X-API-Key` into the request's principal."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.auth import keys_service
from folio.auth import service as auth
from folio.auth.errors import AuthExpired, AuthInvalid, AuthRequired, OrgAccessDenied
from folio.auth.principal import Principal, Scope
from folio.auth.tokens import AccessTokens, is_api_key
from folio.deps import API_V1, client_address, rate_limit
from folio.error_handlers import error_responses
from folio.errors import FolioError, Forbidden, RateLimitExceeded, ValidationFailed
from folio.observability.middleware import STATE_PRINCIPAL
from folio.ratelimit import Policy

_bearer = OAuth2PasswordBearer(
    tokenUrl=f"{API_V1}/auth/login",
    auto_error=False,
    description="An access token from /auth/login (or an API key, for OpenAI-compatible clients).",
)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from /api-keys.")


def authenticated(*errors: type[FolioError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` of an authenticated route: the authentication errors plus its own.

    VALIDATION_ERROR is among them because every authenticated route reads the X-Org-Id header.
    """
    return error_responses(
        AuthRequired, AuthInvalid, AuthExpired, OrgAccessDenied, RateLimitExceeded, ValidationFailed, *errors
    )


def access_tokens(request: Request) -> AccessTokens:
    tokens: AccessTokens = request.app.state.access_tokens
    return tokens


TokensDep = Annotated[AccessTokens, Depends(access_tokens)]


async def current_principal(
    request: Request,
    tokens: TokensDep,
    bearer: Annotated[str | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
    x_org_id: Annotated[
        UUID | None,
        Header(description="The organization to act in, for users who belong to several."),
    ] = None,
) -> Principal:
    credential = api_key or bearer
    if not credential:
        await rate_limit(request, Policy.ANONYMOUS, client_address(request))
        raise AuthRequired()
    # A short transaction of its own: the route's session takes a connection only when it needs one, so a route
    # that works before it reads (an upload streaming, a question being embedded) holds none meanwhile.
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    try:
        async with sessionmaker() as session, session.begin():
            if is_api_key(credential):
                principal = await keys_service.principal_from_api_key(session, secret=credential, org_id=x_org_id)
            else:
                principal = await auth.principal_from_access_token(
                    session, token=credential, org_id=x_org_id, tokens=tokens
                )
    except (AuthInvalid, AuthExpired):
        # Failed credentials count against the address, which bounds guessing of keys and tokens.
        await rate_limit(request, Policy.ANONYMOUS, client_address(request))
        raise
    request.scope.setdefault("state", {})[STATE_PRINCIPAL] = principal
    if principal.api_key_id is not None:
        await rate_limit(request, Policy.API_KEY, str(principal.api_key_id))
    else:
        await rate_limit(request, Policy.USER, str(principal.user_id))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def requires(*scopes: Scope) -> Any:
    """`Annotated[Principal, requires(Scope.X)]`: the principal, or 403 when it lacks one of the scopes."""

    async def principal_with_scopes(principal: CurrentPrincipal) -> Principal:
        missing = [scope for scope in scopes if not principal.has(scope)]
        if missing:
            raise Forbidden(f"This needs the {', '.join(missing)} scope.", details={"missing_scopes": sorted(missing)})
        return principal

    return Depends(principal_with_scopes)
