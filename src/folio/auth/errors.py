from __future__ import annotations

from typing import ClassVar

from folio.errors import Conflict, FolioError, ValidationFailed


class Unauthorized(FolioError):
    """Base of 401 errors; they carry WWW-Authenticate as RFC 6750 asks."""

    status_code = 401
    challenge: ClassVar[str] = 'Bearer realm="folio"'

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": self.challenge})


class AuthRequired(Unauthorized):
    """No credentials: send `Authorization: Bearer <token>` or `X-API-Key: <key>`."""

    code = "AUTH_REQUIRED"
    message = "Authentication required."


class AuthInvalid(Unauthorized):
    """The token or API key is malformed, forged, revoked or no longer valid."""

    code = "AUTH_INVALID"
    message = "Invalid credentials."
    challenge = 'Bearer realm="folio", error="invalid_token"'


class AuthExpired(Unauthorized):
    """The access or refresh token has expired; refresh it or log in again."""

    code = "AUTH_EXPIRED"
    message = "The token has expired."
    challenge = 'Bearer realm="folio", error="invalid_token", error_description="expired"'


class InvalidCredentials(Unauthorized):
    """Login failed: the email or password is wrong, or the account is disabled."""

    code = "INVALID_CREDENTIALS"
    message = "Incorrect email or password."


class EmailTaken(Conflict):
    """An account with this email already exists."""

    code = "EMAIL_TAKEN"
    message = "An account with this email already exists."


class ExpiryInPast(ValidationFailed):
    """`expires_at` must be in the future: a key that is expired when made could never be used."""

    code = "EXPIRES_AT_IN_PAST"
    message = "expires_at must be in the future."


class WeakPassword(ValidationFailed):
    """The password is too short or too common."""

    code = "WEAK_PASSWORD"


class OrgAccessDenied(FolioError):
    """The X-Org-Id header (or the token's organization) names an organization you are not a member of."""

    status_code = 403
    code = "ORG_ACCESS_DENIED"
    message = "You are not a member of this organization."


class ApiKeyNotFound(FolioError):
    """No such API key in your organization."""

    status_code = 404
    code = "API_KEY_NOT_FOUND"
    message = "API key not found."


class ScopeNotAllowed(FolioError):
    """The requested API key scopes exceed what your role allows."""

    status_code = 403
    code = "SCOPE_NOT_ALLOWED"
    message = "An API key cannot have scopes beyond your role."


class SsoRequired(FolioError):
    """An organization you belong to requires signing in through a provider; `details.providers` lists them (sign
    in at `/api/v1/auth/sso/{provider}/start`). Its owners may still use their password."""

    status_code = 403
    code = "SSO_REQUIRED"
    message = "Your organization requires signing in through a provider."
    keep_changes = True
