"""The errors of sign-in through a provider; each class's docstring documents its code."""

from __future__ import annotations

from typing import ClassVar

from folio.errors import Conflict, FolioError, ValidationFailed


class SsoError(FolioError):
    """Base of the sign-in errors: a browser that came back with a `return_to` is sent there with the code
    (`?sso_error=CODE`) instead of being shown the envelope."""

    status_code: ClassVar[int] = 400

    def __init__(self, message: str | None = None, *, reason: str | None = None, return_to: str | None = None) -> None:
        super().__init__(message, details={"reason": reason} if reason else None)
        self.return_to = return_to


class SsoProviderNotFound(FolioError):
    """No sign-in provider of this name is configured (`FOLIO_SSO__PROVIDERS`)."""

    status_code = 404
    code = "SSO_PROVIDER_NOT_FOUND"
    message = "No such sign-in provider."


class ReturnUrlNotAllowed(ValidationFailed):
    """`return_to` is not under one of the front-end URLs the deployment allows (`FOLIO_SSO__RETURN_URLS`)."""

    code = "SSO_RETURN_URL_NOT_ALLOWED"
    message = "return_to is not an allowed URL."


class SsoStateInvalid(SsoError):
    """The sign-in's `state` is missing, unknown, already used, for another provider, or from another browser than
    the one that started it: start the sign-in again."""

    code = "SSO_STATE_INVALID"
    message = "This sign-in is unknown or already used; start again."


class SsoFlowExpired(SsoError):
    """The sign-in took longer than `FOLIO_SSO__FLOW_MINUTES` to come back from the provider: start again."""

    code = "SSO_FLOW_EXPIRED"
    message = "This sign-in has expired; start again."


class SsoProviderDenied(SsoError):
    """The provider refused the sign-in (the person declined, or it would not exchange the code); `details.reason`
    holds its OAuth error code."""

    code = "SSO_PROVIDER_DENIED"
    message = "The sign-in provider refused the sign-in."


class SsoProviderUnavailable(SsoError):
    """The sign-in provider could not be reached, answered with an error, or sent something that is not OpenID
    Connect (its discovery document, keys or token response); try again later."""

    status_code = 502
    code = "SSO_PROVIDER_UNAVAILABLE"
    message = "The sign-in provider is unavailable."


class SsoIdTokenInvalid(SsoError):
    """The provider's ID token failed verification: its signature, issuer, audience, expiry, issue time or nonce;
    `details.reason` names the check."""

    code = "SSO_ID_TOKEN_INVALID"
    message = "The sign-in provider's answer could not be verified."


class SsoEmailUnverified(SsoError):
    """The provider did not vouch for the person's email address (`email_verified` is not true), so no account is
    found, made or linked by it."""

    status_code = 403
    code = "SSO_EMAIL_UNVERIFIED"
    message = "The sign-in provider has not verified this email address."


class SsoAccountDisabled(SsoError):
    """The account this provider identity signs in to is disabled."""

    status_code = 403
    code = "SSO_ACCOUNT_DISABLED"
    message = "This account is disabled."


class SsoTicketInvalid(FolioError):
    """The link ticket or the sign-in code is unknown, already used or expired: sign in through the provider again."""

    status_code = 400
    code = "SSO_TICKET_INVALID"
    message = "This ticket is unknown, used or expired; sign in again."


class SsoIdentityRequired(Conflict):
    """Requiring sign-in through a provider needs a person (not an API key) whose own account is linked to one of
    the configured providers, so that the admin who turns it on can still sign in."""

    code = "SSO_IDENTITY_REQUIRED"
    message = "Link your account to a sign-in provider before requiring one."
