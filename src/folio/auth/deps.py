"""Authentication: turn `Authorization: Bearer` or `X-API-Key` into the request's principal, and any credential
into a principal for the live-event WebSocket, which reads it elsewhere (browsers cannot set headers there)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.requests import HTTPConnection
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.auth import keys_service
from folio.auth import service as auth
from folio.auth.errors import AuthExpired, AuthInvalid, AuthRequired, OrgAccessDenied
from folio.auth.identity import Identity
from folio.auth.principal import Principal, Scope
from folio.auth.principal_cache import PrincipalCache
from folio.auth.tokens import AccessTokens, is_api_key
from folio.deps import API_V1
from folio.error_handlers import error_responses
from folio.errors import FolioError, Forbidden, RateLimitExceeded, ValidationFailed
from folio.observability.access import STATE_PRINCIPAL
from folio.observability.middleware import STATE_RESPONSE_HEADERS
from folio.ratelimit import Policy, RateLimiter

_bearer = OAuth2PasswordBearer(
    tokenUrl=f"{API_V1}/auth/login",
    auto_error=False,
    description="An access token from /auth/login (or an API key, for OpenAI-compatible clients).",
)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from /api-keys.")
_SCHEMES = (_bearer, _api_key)


def authenticated(*errors: type[FolioError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` of an authenticated route: the authentication errors plus its own.

    VALIDATION_ERROR is among them because every authenticated route reads the X-Org-Id header.
    """
    return error_responses(
        AuthRequired, AuthInvalid, AuthExpired, OrgAccessDenied, RateLimitExceeded, ValidationFailed, *errors
    )


async def access_tokens(request: Request) -> AccessTokens:  # no worker thread: see `folio.deps._app_state`
    tokens: AccessTokens = request.app.state.access_tokens
    return tokens


TokensDep = Annotated[AccessTokens, Depends(access_tokens)]


async def identity_for(
    sessionmaker: async_sessionmaker[AsyncSession], tokens: AccessTokens, *, credential: str, org_id: UUID | None
) -> Identity:
    """The identity a credential (an access token or an API key) acts as in `org_id` (None: the token's or the
    key's organization), read from the database in a short transaction of its own.

    Its own transaction: the route's session takes a connection only when it needs one, so a route that works
    before it reads (an upload streaming, a question being embedded) holds none meanwhile, and a live stream holds
    none while it is open.
    """
    async with sessionmaker() as session, session.begin():
        if is_api_key(credential):
            return await keys_service.identity_from_api_key(session, secret=credential, org_id=org_id)
        return await auth.identity_from_access_token(session, token=credential, org_id=org_id, tokens=tokens)


async def principal_for(
    sessionmaker: async_sessionmaker[AsyncSession], tokens: AccessTokens, *, credential: str, org_id: UUID | None
) -> Principal:
    """The principal of a credential, from the database (not the cache): live streams check theirs again."""
    identity = await identity_for(sessionmaker, tokens, credential=credential, org_id=org_id)
    return identity.principal


async def identify(connection: HTTPConnection, *, credential: str | None, org_id: UUID | None) -> Identity:
    """The identity of a request or a WebSocket (from the principal cache when it holds), counted against the rate
    limits.

    Missing and failed credentials count against the client's address, which bounds guessing of keys and tokens;
    a valid one counts against its API key or user.
    """
    if not credential:
        await _count(connection, Policy.ANONYMOUS, _address(connection))
        raise AuthRequired()
    state = connection.app.state
    cache: PrincipalCache = state.principal_cache

    def load() -> Awaitable[Identity]:
        return identity_for(state.sessionmaker, state.access_tokens, credential=credential, org_id=org_id)

    try:
        identity = await cache.identity(_cache_key(credential, org_id), load)
    except (AuthInvalid, AuthExpired):
        await _count(connection, Policy.ANONYMOUS, _address(connection))
        raise
    principal = identity.principal
    connection.scope.setdefault("state", {})[STATE_PRINCIPAL] = principal
    if principal.api_key_id is not None:
        await _count(connection, Policy.API_KEY, str(principal.api_key_id))
    else:
        await _count(connection, Policy.USER, str(principal.user_id))
    return identity


async def authenticate(connection: HTTPConnection, *, credential: str | None, org_id: UUID | None) -> Principal:
    """`identify`, for what needs only the principal."""
    identity = await identify(connection, credential=credential, org_id=org_id)
    return identity.principal


ORG_HEADER = "x-org-id"
_ORG_PARAMETER: dict[str, Any] = {
    "name": ORG_HEADER,
    "in": "header",
    "required": False,
    "description": "The organization to act in, for users who belong to several.",
    "schema": {"type": "string", "format": "uuid"},
}


async def current_identity(request: Request) -> Identity:
    """The request's identity, from `X-API-Key`, `Authorization: Bearer` and `X-Org-Id`.

    It reads the headers itself rather than through FastAPI's security and header dependencies: each dependency
    costs its own resolution on every authenticated request, three of them about a fifth of a cached request's
    CPU. `document_credentials` puts the schemes and the header into the OpenAPI operations instead.
    """
    headers = request.headers
    credential = headers.get("x-api-key") or _bearer_token(headers.get("authorization"))
    return await identify(request, credential=credential, org_id=_org_id(headers.get("x-org-id")))


def _bearer_token(authorization: str | None) -> str | None:
    """What OAuth2PasswordBearer reads: the credentials of a `Bearer` authorization (the scheme in any case)."""
    scheme, _, token = (authorization or "").partition(" ")
    return token if scheme.lower() == "bearer" else None


def _org_id(value: str | None) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        error = {"type": "uuid_parsing", "loc": ("header", ORG_HEADER), "msg": "Input should be a valid UUID"}
        raise RequestValidationError([error]) from None


CurrentIdentity = Annotated[Identity, Depends(current_identity)]


async def current_principal(identity: CurrentIdentity) -> Principal:
    """The request's principal, from the same (per-request cached) identity: a route that asks for both checks the
    credential and counts the rate limit once."""
    return identity.principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def requires(*scopes: Scope) -> Any:
    """`Annotated[Principal, requires(Scope.X)]`: the principal, or 403 when it lacks one of the scopes."""

    async def principal_with_scopes(principal: CurrentPrincipal) -> Principal:
        missing = [scope for scope in scopes if not principal.has(scope)]
        if missing:
            raise Forbidden(f"This needs the {', '.join(missing)} scope.", details={"missing_scopes": sorted(missing)})
        return principal

    return Depends(principal_with_scopes)


def _cache_key(credential: str, org_id: UUID | None) -> bytes:
    """A digest, so that the cache holds no secret."""
    return hashlib.sha256(f"{org_id}:{credential}".encode()).digest()


def _address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


async def _count(connection: HTTPConnection, policy: Policy, identity: str) -> None:
    """`folio.deps.rate_limit` for a request or a WebSocket: count one; the window's headers go on the response."""
    limiter: RateLimiter = connection.app.state.rate_limiter
    window = await limiter.hit(policy, identity)
    if window is not None:
        connection.scope.setdefault("state", {})[STATE_RESPONSE_HEADERS] = window.headers()


def document_credentials(app: FastAPI) -> None:
    """Make `app.openapi()` declare, on every operation that authenticates (`current_identity` among its
    dependencies), both credential schemes and the optional `X-Org-Id` header, as FastAPI's own security and header
    dependencies would have."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        for scheme in _SCHEMES:
            schemes[scheme.scheme_name] = scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if isinstance(route, APIRoute) and route.include_in_schema and _authenticates(route.dependant):
                for method in route.methods or ():
                    operation = schema["paths"][context.path_format][method.lower()]
                    operation["security"] = [{scheme.scheme_name: []} for scheme in _SCHEMES]
                    parameters = operation.setdefault("parameters", [])
                    if _ORG_PARAMETER not in parameters:
                        parameters.append(_ORG_PARAMETER)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend the schema


def _authenticates(dependant: Dependant) -> bool:
    return dependant.call is current_identity or any(_authenticates(sub) for sub in dependant.dependencies)
