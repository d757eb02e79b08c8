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
