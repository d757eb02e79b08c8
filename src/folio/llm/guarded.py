"""A provider behind its endpoint's circuit breaker, with every call counted in the metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from folio.llm.breaker import CircuitBreaker
from folio.llm.errors import LLMRateLimited, LLMTimeout, LLMUnavailable
from folio.llm.metrics import LLM_CALL_DURATION, LLM_CALLS
from folio.llm.provider import Completion, Delta, LLMProvider, Message


class GuardedLLM:
    """`LLMProvider` that asks `breaker` before each call to `provider` and tells it how the call ended."""

    def __init__(self, provider: LLMProvider, breaker: CircuitBreaker) -> None:
        self.provider = provider
        self.breaker = breaker

    @property
    def model(self) -> str:
        return self.provider.model

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        started: float | None = None
        try:
            async with self.breaker.guard():
                started = time.perf_counter()
                completion = await self.provider.complete(
                    messages, max_tokens=max_tokens, temperature=temperature, json_schema=json_schema
                )
        except BaseException as exc:
            _record("complete", started, exc)
            raise
        _record("complete", started, None)
        return completion

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[Delta]:
        started: float | None = None
        try:
            async with self.breaker.guard():
                started = time.perf_counter()
                deltas = self.provider.stream(messages, max_tokens=max_tokens, temperature=temperature)
                try:
                    async for delta in deltas:
                        yield delta
                finally:
                    # Close the upstream response now, not when the garbage collector finds the generator.
                    aclose = getattr(deltas, "aclose", None)
                    if aclose is not None:
                        await aclose()
        except BaseException as exc:
            _record("stream", started, exc)
            raise
        _record("stream", started, None)

    async def close(self) -> None:
        await self.provider.close()


def _record(operation: str, started: float | None, error: BaseException | None) -> None:
    if started is None:
        # The breaker refused the call before it went out.
        outcome = "circuit_open" if isinstance(error, LLMUnavailable) else "abandoned"
    else:
        LLM_CALL_DURATION.labels(operation).observe(time.perf_counter() - started)
        outcome = _outcome(error)
    LLM_CALLS.labels(operation, outcome).inc()


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
