"""Per-request values that logs, error envelopes and response headers share."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from dataclasses import dataclass

request_id_var: ContextVar[str | None] = ContextVar("folio_request_id", default=None)


@dataclass(frozen=True, slots=True)
class RequestClient:
    """Who sent the request, as far as the server can tell: the peer's address (the client's when a trusted proxy
    forwarded it, see FOLIO_HTTP__TRUSTED_PROXIES) and the User-Agent header, for the audit log."""

    ip: str | None
    user_agent: str | None


request_client_var: ContextVar[RequestClient | None] = ContextVar("folio_request_client", default=None)

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def accept_request_id(incoming: str | None) -> str:
    """Echo a caller's X-Request-ID when it is safe to log and return; otherwise make a new one."""
    if incoming is not None and _SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex
