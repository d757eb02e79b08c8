from __future__ import annotations

from folio.errors import FolioError


class NotificationNotFound(FolioError):
    """No such notification in your inbox (another member's is not yours to see)."""

    status_code = 404
    code = "NOTIFICATION_NOT_FOUND"
    message = "Notification not found."
