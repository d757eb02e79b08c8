"""Errors of the live-event WebSocket (its `error` messages, and its plain-HTTP route)."""

from __future__ import annotations

from folio.errors import FolioError


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
