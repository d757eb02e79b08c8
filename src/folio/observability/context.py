"""Per-request values that logs, error envelopes and response headers share."""

from __future__ import annotations

import os
import random
import re
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

# A request id must be unique, not secret: it comes from a generator of Folio's own (uuid4 asks the kernel on every
# request), reseeded in a forked child so that two workers never share a sequence.
_IDS = random.Random()  # noqa: S311 -- unique, not secret
os.register_at_fork(after_in_child=_IDS.seed)

_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def accept_request_id(incoming: str | None) -> str:
    """Echo a caller's X-Request-ID when it is safe to log and return; otherwise make a new one."""
    if incoming is not None and _SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return f"{_IDS.getrandbits(128):032x}"
