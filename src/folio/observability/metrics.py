"""Prometheus metrics. With PROMETHEUS_MULTIPROC_DIR set (`folio serve --workers N` sets it), every worker
writes its samples there and `/metrics` aggregates them, whichever worker answers the scrape."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

REQUESTS = Counter(
    "folio_http_requests_total", "HTTP requests by method, route template and status.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "folio_http_request_duration_seconds",
    "HTTP request latency by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
IN_FLIGHT = Gauge("folio_http_requests_in_flight", "Requests being served.", multiprocess_mode="livesum")
WEBSOCKETS_OPEN = Gauge(
    "folio_websockets_open",
    "WebSocket connections open (not counted as requests in flight).",
    multiprocess_mode="livesum",
)
WEBSOCKETS_CLOSED = Counter(
    "folio_websockets_closed_total",
    "WebSocket connections ended, by route template and close code (or the HTTP status of a refused handshake).",
    ["route", "code"],
)
WEBSOCKET_MESSAGES = Counter(
    "folio_websocket_messages_total", "WebSocket messages, by direction (received, sent).", ["direction"]
)
DB_POOL_CHECKED_OUT = Gauge(
    "folio_db_pool_connections_in_use", "Database connections lent out of the pool.", multiprocess_mode="livesum"
)
DB_POOL_OPEN = Gauge(
    "folio_db_pool_connections_open", "Database connections the pool holds open.", multiprocess_mode="livesum"
)
SHED = Counter("folio_http_requests_shed_total", "Requests answered 503 SERVER_BUSY because the process was full.")
RATE_LIMIT_STORAGE_ERRORS = Counter(
    "folio_rate_limit_storage_errors_total",
    "Rate-limit checks skipped because the storage (Redis) failed; requests were served.",
)


def instrument_pool(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    event.listen(pool, "connect", lambda *_: DB_POOL_OPEN.inc())
    event.listen(pool, "close", lambda *_: DB_POOL_OPEN.dec())
    event.listen(pool, "checkout", lambda *_: DB_POOL_CHECKED_OUT.inc())
    event.listen(pool, "checkin", lambda *_: DB_POOL_CHECKED_OUT.dec())


def render() -> tuple[bytes, str]:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
