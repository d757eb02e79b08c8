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

# Jobs. The queue's gauges describe the whole jobs table: every process that runs the reaper writes the same
# figures, so dashboards take their max, never their sum.
JOBS_QUEUED = Gauge(
    "folio_jobs_queued",
    "Jobs waiting in the queue (retries waiting for their backoff included), by kind; refreshed by the reaper.",
    ["kind"],
    multiprocess_mode="livemostrecent",
)
JOBS_OLDEST_QUEUED_SECONDS = Gauge(
    "folio_jobs_oldest_queued_seconds",
    "How long the oldest due job of a kind has waited to start (0 when none waits); refreshed by the reaper.",
    ["kind"],
    multiprocess_mode="livemostrecent",
)
JOBS_RUNNING = Gauge(
    "folio_jobs_running",
    "Jobs running in any process, by kind; refreshed by the reaper.",
    ["kind"],
    multiprocess_mode="livemostrecent",
)
JOB_ATTEMPTS = Counter(
    "folio_job_attempts_total",
    "Job attempts by kind and outcome: succeeded, failed (for good), retrying (failed, tried again later), "
    "cancelled, handed_back (the process stopped; another takes the job, the attempt not counted), lease_lost, "
    "lease_expired (its worker died; counted by the reaper).",
    ["kind", "outcome"],
)
JOB_DURATION = Histogram(
    "folio_job_duration_seconds",
    "Duration of job attempts from claim to outcome, by kind and outcome.",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0),
)
JOB_FAILURES = Counter(
    "folio_job_failures_total",
    "Failed job attempts (retried or not) by kind and error code: ingestion failures are kind=ingest_document.",
    ["kind", "code"],
)

# Ingestion, embeddings, search.
INGESTED_PAGES = Counter("folio_ingestion_pages_total", "Pages extracted from uploaded files, by format.", ["format"])
INGESTED_CHUNKS = Counter("folio_ingestion_chunks_total", "Chunks cut from extracted text (documents and records).")
EMBEDDING_DURATION = Histogram(
    "folio_embedding_duration_seconds",
    "Duration of embedding calls (one call embeds a batch of texts), by provider (local, openai).",
    ["provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
EMBEDDED_TEXTS = Counter("folio_embedding_texts_total", "Texts embedded, by provider (local, openai).", ["provider"])
SEARCH_DURATION = Histogram(
    "folio_search_duration_seconds",
    "Duration of searches (the question's embedding included), by mode (keyword, vector, hybrid).",
    ["mode"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


PRINCIPAL_CACHE_LOOKUPS = Counter(
    "folio_principal_cache_lookups_total",
    "Authenticated requests by where their principal came from: hit (the cache), miss (the database, then cached), "
    "uncached (the database: the cache is off, Redis is unreachable, or a change raced the read).",
    ["result"],
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_request_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def count_request(method: str, route: str, status: int, seconds: float) -> None:
    """One request in REQUESTS and LATENCY. The labelled series are kept per method, route and status: looking
    them up through `labels()` (validation, a lock) cost more than counting. A method the API does not use is
    counted as "other", so a client cannot make up label values."""
    key = (method if method in _METHODS else "other", route, status)
    series = _request_series.get(key)
    if series is None:
        series = _request_series[key] = (REQUESTS.labels(key[0], route, str(status)), LATENCY.labels(key[0], route))
    series[0].inc()
    series[1].observe(seconds)


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
