from __future__ import annotations

from folio.errors import Conflict, FolioError, ValidationFailed


class WebhookNotFound(FolioError):
    """No such webhook endpoint in your organization."""

    status_code = 404
    code = "WEBHOOK_NOT_FOUND"
    message = "Webhook not found."


class WebhookDeliveryNotFound(FolioError):
    """No such delivery of this webhook endpoint."""

    status_code = 404
    code = "WEBHOOK_DELIVERY_NOT_FOUND"
    message = "Webhook delivery not found."


class TooManyWebhooks(Conflict):
    """The organization has as many webhook endpoints as the server allows (`FOLIO_WEBHOOKS__MAX_PER_ORG`);
    delete one first."""

    code = "TOO_MANY_WEBHOOKS"
    message = "Your organization has as many webhook endpoints as allowed."


class WebhookURLInvalid(ValidationFailed):
    """The webhook URL is not an absolute http(s) URL with a host and without credentials."""

    code = "WEBHOOK_URL_INVALID"
    message = "The webhook URL must be an absolute http or https URL."


class UnknownEventType(ValidationFailed):
    """An event type in `event_types` is not one webhooks deliver; `details.allowed` lists those that are."""

    code = "WEBHOOK_EVENT_TYPE_UNKNOWN"
    message = "Unknown event type."


class WebhookDisabled(Conflict):
    """The webhook endpoint is disabled: enable it before redelivering (a ping is sent all the same)."""

    code = "WEBHOOK_DISABLED"
    message = "The webhook endpoint is disabled."


class TooManyPendingDeliveries(FolioError):
    """The endpoint already has as many pings and redeliveries on their way as allowed; wait for them to finish."""

    status_code = 429
    code = "WEBHOOK_DELIVERIES_PENDING"
    message = "Too many pings and redeliveries of this endpoint are on their way."


class WebhookDeliveryFailed(FolioError):
    """A delivery attempt did not get a 2xx answer (the delivery log says what came back); it is retried on the
    webhook schedule."""

    status_code = 502
    code = "WEBHOOK_DELIVERY_FAILED"
    message = "The webhook receiver did not accept the delivery."


class WebhookSecretUnreadable(FolioError):
    """The endpoint's stored signing secret cannot be decrypted with FOLIO_ENCRYPTION_KEYS (a key was removed);
    rotate the secret."""

    status_code = 500
    code = "WEBHOOK_SECRET_UNREADABLE"
    message = "The webhook's signing secret cannot be read; rotate it."
