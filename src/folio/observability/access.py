"""What is recorded of each HTTP request once its response is sent: one access-log line and the request metrics."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from starlette.types import Scope

from folio.observability import metrics
from folio.observability.logging import write_line

log = logging.getLogger("folio.access")

# Request state key written by authentication and read here once the response is known.
STATE_PRINCIPAL = "principal"


@dataclass(slots=True)
class Outcome:
    """What the access log and the metrics say of a response, as it goes out."""

    status: int = 500
    started: bool = False
    bytes: int = 0
    # Whether the request still counts as one in flight (an event stream stops counting once it starts).
    counted: bool = True


def route_template(scope: Scope) -> str:
    """The matched route's path template: a bounded label for metrics and logs. A plain Starlette route (/docs,
    /openapi.json) carries no route object, but without path parameters its path is its template."""
    route = scope.get("route")
    if route is not None:
        return str(route.path)
    if "endpoint" in scope and not scope.get("path_params"):
        return str(scope["path"])
    return "<unmatched>"


# Health checks and scrapes come every few seconds from the orchestrator and Prometheus: their lines are debug.
_PROBES = frozenset({"/health/live", "/health/ready", "/metrics"})


def record(scope: Scope, state: dict[str, Any], response: Outcome, user_agent: str | None, duration: float) -> None:
    template = route_template(scope)
    method = scope["method"]
    metrics.count_request(method, template, response.status, duration)
    principal = state.get(STATE_PRINCIPAL)
    client = scope.get("client")
    write_line(
        log,
        logging.DEBUG if template in _PROBES else logging.INFO,
        "request",
        {
            "method": method,
            "route": template,
            "status": response.status,
            "duration_ms": round(duration * 1000, 2),
            "bytes": response.bytes,
            "client": client[0] if client else None,
            "user_agent": user_agent,
            "org_id": str(principal.org_id) if principal else None,
            "principal": principal.kind if principal else None,
            "principal_id": _principal_id(principal),
        },
    )


def _principal_id(principal: Any) -> str | None:
    """The API key's id for a key, the user's for a user."""
    if principal is None:
        return None
    return str(principal.api_key_id or principal.user_id)
