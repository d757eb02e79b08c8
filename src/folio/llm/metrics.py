"""Prometheus metrics of the language-model layer (exported by /metrics with the others)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

LLM_CALLS = Counter(
    "folio_llm_calls_total",
    "Language-model calls by operation (complete, stream) and outcome "
    "(ok, timeout, unavailable, rate_limited, circuit_open, abandoned, error).",
    ["operation", "outcome"],
)
LLM_CALL_DURATION = Histogram(
    "folio_llm_call_duration_seconds",
    "Duration of language-model calls that reached the model, retries included, by operation.",
    ["operation"],
    buckets=(0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0),
)
LLM_PROVIDER_CALLS = Counter(
    "folio_llm_provider_calls_total",
    "Language-model calls by provider (the host of the server's own endpoint, FOLIO_LLM__BASE_URL; `organization` "
    "for the endpoints organizations set themselves) and outcome (as folio_llm_calls_total).",
    ["provider", "outcome"],
)
LLM_BREAKER_TRANSITIONS = Counter(
    "folio_llm_breaker_transitions_total",
    "Circuit-breaker state changes, by the state entered (open, half_open, closed).",
    ["state"],
)
LLM_BREAKERS_NOT_CLOSED = Gauge(
    "folio_llm_breakers_not_closed",
    "Circuit breakers open or half-open: endpoints whose calls are refused or on trial.",
    multiprocess_mode="livesum",
)
