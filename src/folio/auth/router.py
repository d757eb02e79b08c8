from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends, Request, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from folio.auth import service as auth
from folio.auth.deps import CurrentIdentity, CurrentPrincipal, TokensDep, authenticated
from folio.auth.errors import AuthExpired, AuthInvalid, EmailTaken, InvalidCredentials, SsoRequired, WeakPassword
from folio.auth.identity import Identity
from folio.auth.passwords import MAX_LENGTH
from folio.auth.schemas import (
    ApiKeySummary,
    LoginRequest,
    MeResponse,
    OrgSummary,
    RefreshRequest,
    RegisterRequest,
    RegisterResponse,
    TokenResponse,
    UserRead,
)
from folio.deps import API_V1, SessionDep, SettingsDep, limit_auth_attempts
from folio.error_handlers import error_responses
from folio.errors import Forbidden, RateLimitExceeded, ValidationFailed
from folio.routing import Router

router = Router(prefix=f"{API_V1}/auth", tags=["auth"])
_attempts = [Depends(limit_auth_attempts)]

_LOGIN_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {"schema": LoginRequest.model_json_schema()},
        "application/x-www-form-urlencoded": {
            "schema": {
                "title": "LoginForm",
                "type": "object",
                "required": ["username", "password"],
                "properties": {
                    "username": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 320,
                        "description": "The account's email.",
                    },
                    "password": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH},
                    "grant_type": {"type": "string", "enum": ["password"]},
                },
            }
        },
    },
}


async def _login_credentials(request: Request) -> LoginRequest:
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            data: Any = {"email": form.get("username") or form.get("email"), "password": form.get("password")}
        else:
            data = await request.json()
        return LoginRequest.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False)) from exc
    except ValueError as exc:  # the body is not JSON
        raise ValidationFailed("The body must be JSON or an OAuth2 password form.") from exc


LoginCredentials = Annotated[LoginRequest, Depends(_login_credentials)]


# First of all routes (and the auth router first of all routers): routes are matched in order, each one tried
# costing ~1 µs, and front ends call /auth/me on every page load.
@router.get(
    "/me", response_model=MeResponse, responses=authenticated(), summary="Who is calling, in which organization"
)
async def me(identity: CurrentIdentity) -> Response:
    return Response(_me_body(identity), media_type="application/json")


@lru_cache(maxsize=4096)
def _me_body(identity: Identity) -> bytes:
    """/auth/me's JSON, a function of the identity alone: built, validated and serialized once per identity (front
    ends call /auth/me on every page load, and the principal cache keeps identities), not on every call. Answered
    directly: FastAPI would validate and serialize a returned model once more."""
    principal = identity.principal
    body = MeResponse(
        principal=principal.kind,
        user=UserRead.model_validate(identity.user) if identity.user else None,
        org=OrgSummary.model_validate(identity.org),
        role=principal.role,
        scopes=sorted(principal.scopes),
        units=None if principal.units is None else sorted(principal.units),
        api_key=ApiKeySummary.model_validate(identity.api_key) if identity.api_key else None,
    )
    return body.model_dump_json().encode()


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegisterResponse,
    dependencies=_attempts,
    responses=error_responses(EmailTaken, WeakPassword, ValidationFailed, RateLimitExceeded),
    summary="Create an account and its personal organization",
)
async def register(body: RegisterRequest, session: SessionDep, tokens: TokensDep) -> RegisterResponse:
    user, _ = await auth.create_user(session, email=body.email, password=body.password, name=body.name)
    pair = await auth.start_session(session, user=user, tokens=tokens)
    return RegisterResponse(user=UserRead.model_validate(user), **_token_fields(pair))


@router.post(
    "/login",
    response_model=TokenResponse,
    dependencies=_attempts,
    responses=error_responses(InvalidCredentials, SsoRequired, ValidationFailed, RateLimitExceeded),
    summary="Exchange email and password for tokens",
    description="Accepts JSON `{email, password}` or the OAuth2 password form (`username` is the email). A member "
    "of an organization that requires a sign-in provider (other than its owners, who keep their password as a way in "
    "should the provider fail) is refused with `SSO_REQUIRED` and the providers to use.",
    openapi_extra={"requestBody": _LOGIN_BODY},
)
async def login(
    credentials: LoginCredentials, session: SessionDep, tokens: TokensDep, settings: SettingsDep
) -> TokenResponse:
    pair = await auth.login(
        session,
        email=credentials.email,
        password=credentials.password,
        tokens=tokens,
        sso_providers=[provider.name for provider in settings.sso.providers],
    )
    return TokenResponse(**_token_fields(pair))


@router.post(
    "/refresh",
    response_model=TokenResponse,
    dependencies=_attempts,
    responses=error_responses(AuthInvalid, AuthExpired, ValidationFailed, RateLimitExceeded),
    summary="Rotate a refresh token",
    description="Returns new tokens; the old refresh token stops working. Presenting it again revokes the session.",
)
async def refresh(body: RefreshRequest, session: SessionDep, tokens: TokensDep) -> TokenResponse:
    pair = await auth.refresh(session, refresh_token=body.refresh_token, tokens=tokens)
    return TokenResponse(**_token_fields(pair))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden),
    summary="Revoke the current session and its tokens",
)
async def logout(principal: CurrentPrincipal, session: SessionDep) -> None:
    await auth.logout(session, principal=principal)


def _token_fields(pair: auth.TokenPair) -> dict[str, Any]:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token, "expires_in": pair.expires_in}
