from __future__ import annotations

from folio.errors import FolioError


class ChatNotFound(FolioError):
    """No such chat of yours (chats are private to whoever started them)."""

    status_code = 404
    code = "CHAT_NOT_FOUND"
    message = "Chat not found."
