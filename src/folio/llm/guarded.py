"""A provider behind its endpoint's circuit breaker, with every call counted in the metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from folio.llm.breaker import CircuitBreaker
from folio.llm.errors import LLMRateLimited, LLMTimeout, LLMUnavailable
from folio.llm.metrics import LLM_CALL_DURATION, LLM_CALLS, LLM_PROVIDER_CALLS
from folio.llm.provider import LLMProvider
from folio.llm.wrapped import Operation, WrappedLLM


class GuardedLLM(WrappedLLM):
    """`LLMProvider` that asks `breaker` before each call to `provider` and tells it how the call ended; `label`
    names the provider in the metrics (a tenant's endpoint never names itself there: anyone can make up hosts)."""

    def __init__(self, provider: LLMProvider, breaker: CircuitBreaker, *, label: str = "organization") -> None:
        super().__init__(provider)
        self.breaker = breaker
        self.label = label

    @asynccontextmanager
    async def held(self, operation: Operation) -> AsyncIterator[None]:
        started: float | None = None
        try:
            async with self.breaker.guard():
                started = time.perf_counter()
                yield
        except BaseException as exc:
            _record(operation, self.label, started, exc)
            raise
        _record(operation, self.label, started, None)


def _record(operation: str, label: str, started: float | None, error: BaseException | None) -> None:
    if started is None:
        # The breaker refused the call before it went out.
        outcome = "circuit_open" if isinstance(error, LLMUnavailable) else "abandoned"
    else:
        LLM_CALL_DURATION.labels(operation).observe(time.perf_counter() - started)
        outcome = _outcome(error)
    LLM_CALLS.labels(operation, outcome).inc()
    LLM_PROVIDER_CALLS.labels(label, outcome).inc()


def _outcome(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    if isinstance(error, LLMRateLimited):
        return "rate_limited"
    if isinstance(error, LLMTimeout):
        return "timeout"
    if isinstance(error, LLMUnavailable):
        return "unavailable"
    if isinstance(error, Exception):
        return "error"
    return "abandoned"
