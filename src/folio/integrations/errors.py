from __future__ import annotations

from folio.errors import Conflict, FolioError, NotFound, ValidationFailed


class IntegrationNotFound(NotFound):
    """No such integration in your organization."""

    code = "INTEGRATION_NOT_FOUND"
    message = "Integration not found."


class CredentialsRejected(FolioError):
    """The source refused the integration's credentials (revoked, expired, or never valid): set new ones (PATCH
    `credentials`) or connect again; until then the integration is `needs_reauth` and is not synced."""

    status_code = 422
    code = "INTEGRATION_CREDENTIALS_REJECTED"
    message = "The source refused the integration's credentials."


class SourceUnavailable(FolioError):
    """The source could not be reached, kept failing, or rate-limited the sync for longer than the server waits;
    the sync is tried again later."""

    status_code = 502
    code = "INTEGRATION_SOURCE_UNAVAILABLE"
    message = "The source could not be reached."


class SourceRefused(FolioError):
    """The source answered a request with an error (its status is in `details`; its body is never repeated)."""

    status_code = 502
    code = "INTEGRATION_SOURCE_ERROR"
    message = "The source refused a request."

    def __init__(self, status: int, what: str) -> None:
        super().__init__(f"The source answered {status} to {what}.", details={"status": status})
        self.status = status


class ItemGone(Exception):
    """The item was deleted or unshared at the source between its listing and its fetch: it is dropped, not failed."""


class ItemTooLarge(FolioError):
    """An item of the source is larger than the server stores (FOLIO_INTEGRATIONS__MAX_ITEM_BYTES); it alone is
    skipped."""

    status_code = 422
    code = "INTEGRATION_ITEM_TOO_LARGE"
    message = "The item is larger than the server stores."


class InvalidIntegrationConfig(ValidationFailed):
    """The integration's configuration or credentials do not fit its kind (the fields are in `details`)."""

    code = "INTEGRATION_CONFIG_INVALID"
    message = "The integration's configuration is not valid for its kind."


class TooManyIntegrations(Conflict):
    """The organization has as many integrations as the server allows (FOLIO_INTEGRATIONS__MAX_PER_ORG)."""

    code = "TOO_MANY_INTEGRATIONS"
    message = "The organization has as many integrations as it may."


class IntegrationNameTaken(Conflict):
    """The organization has an integration of that name already."""

    code = "INTEGRATION_NAME_TAKEN"
    message = "An integration of that name exists already."


class SyncInProgress(Conflict):
    """A sync of this integration is queued or running; its job is in `details`."""

    code = "INTEGRATION_SYNC_IN_PROGRESS"
    message = "A sync of this integration is already queued or running."


class IntegrationNeedsReauth(Conflict):
    """The integration's credentials were refused at its last sync: set new ones before syncing."""

    code = "INTEGRATION_NEEDS_REAUTH"
    message = "The integration needs new credentials before it can sync."


class ConnectStateInvalid(FolioError):
    """The OAuth connection's `state` is unknown, used already or expired, or the person who started it is no
    longer an owner or admin of its organization (`details.reason`): start the connection again."""

    status_code = 400
    code = "INTEGRATION_CONNECT_STATE_INVALID"
    message = "This connection attempt is not valid; start it again."
