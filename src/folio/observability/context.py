"""Per-request values that logs, error envelopes and response headers share."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("folio_request_id", default=None)

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def accept_request_id(incoming: str | None) -> str:
    """Echo a caller's X-Request-ID when it is safe to log and return; otherwise make a new one."""
    if incoming is not None and _SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex
