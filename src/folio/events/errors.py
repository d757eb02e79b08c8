from __future__ import annotations

from folio.errors import FolioError


class TooManyStreams(FolioError):
    """The organization, or the server, already has as many live streams (WebSockets and SSE) open as allowed
    (`FOLIO_EVENTS__MAX_CONNECTIONS_PER_ORG`, `FOLIO_EVENTS__MAX_CONNECTIONS`); close one, or retry later."""

    status_code = 429
    code = "TOO_MANY_STREAMS"
    message = "Your organization has too many live event streams open."


class SubscriberTooSlow(FolioError):
    """A live stream fell more events behind than the server keeps for it and was closed; reconnect with the
    last event id you received to resume."""

    status_code = 409
    code = "SUBSCRIBER_TOO_SLOW"
    message = "The stream fell too far behind and was closed; resume from your last event id."


class UnknownTopic(FolioError):
    """A WebSocket subscription named a topic that is not `org`, `jobs`, `documents` or the id of a job, document or
    record batch of your organization (another organization's id is refused the same way). The other topics of the
    message are subscribed."""

    status_code = 404
    code = "UNKNOWN_TOPIC"
    message = "No such topic."


class UpgradeRequired(FolioError):
    """`/api/v1/ws` speaks the WebSocket protocol only: open it with a WebSocket client (`Upgrade: websocket`)."""

    status_code = 426
    code = "UPGRADE_REQUIRED"
    message = "This endpoint is a WebSocket: connect with a WebSocket client."


class EventsForbidden(FolioError):
    """The principal may not read the events it asked for: an API key without `documents:read` or `admin` reads
    no event at all, and administration events (`member.*`, `api_key.*`, `webhook.*`) need `admin`."""

    status_code = 403
    code = "EVENTS_FORBIDDEN"
    message = "You may not read these events."


class EventSubjectNotFound(FolioError):
    """The `subject` of an event stream is not a job, document or record batch of your organization."""

    status_code = 404
    code = "EVENT_SUBJECT_NOT_FOUND"
    message = "No job, document or record batch has this id."
