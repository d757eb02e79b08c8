"""A circuit breaker per model endpoint, so a dead or failing upstream costs callers nothing but a fast error.

closed ─(N consecutive failures)→ open ─(reset time)→ half-open: one trial call ─ success → closed
                                   ↑                                            └ failure → open (again)

Failures are `LLMTimeout` and `LLMUnavailable` (unreachable, 5xx, or a refusal such as a bad key: every call would
fail the same way, so refusing fast is right). `LLMRateLimited` is not a failure: the upstream is up and answering,
it only asks Folio to slow down, and opening the circuit would turn a short quota wait into a longer outage for
every organization sharing the endpoint. It counts as the upstream answering, like a success. A call the caller
abandons (a client that disconnects mid-stream) counts as neither; if it was the half-open trial, the next call
becomes the trial.

The state lives in this process: with several workers, each learns of an outage by itself (after N failures).
Admission and outcomes run without awaiting, so no lock is needed on one event loop.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from enum import StrEnum

import structlog

from folio.llm.errors import LLMRateLimited, LLMTimeout, LLMUnavailable
from folio.llm.metrics import LLM_BREAKER_TRANSITIONS, LLM_BREAKERS_NOT_CLOSED

log = structlog.get_logger(__name__)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.threshold = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._retry_in() <= 0:
            return BreakerState.HALF_OPEN
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """Run one call under the breaker: refused at once with `LLMUnavailable` while the circuit is open."""
        trial = self._admit()
        try:
            yield
        except LLMRateLimited:
            self._succeeded(trial)
            raise
        except (LLMTimeout, LLMUnavailable):
            self._failed(trial)
            raise
        except BaseException:
            self._abandoned(trial)
            raise
        else:
            self._succeeded(trial)

    def _admit(self) -> bool:
        """Whether the call is the half-open trial; raises when the call may not go out."""
        if self._state is BreakerState.OPEN:
            retry_in = self._retry_in()
            if retry_in > 0:
                raise LLMUnavailable(
                    f"The language model {self.name} is unavailable: its circuit opened after {self.threshold} "
                    f"consecutive failures; it will be tried again in {math.ceil(retry_in)} s.",
                    details={"circuit": BreakerState.OPEN.value, "retry_in_seconds": math.ceil(retry_in)},
                    headers={"Retry-After": str(math.ceil(retry_in))},
                )
            self._move_to(BreakerState.HALF_OPEN)
        if self._state is BreakerState.HALF_OPEN:
            if self._trial_running:
                raise LLMUnavailable(
                    f"The language model {self.name} is unavailable: a trial call is checking if it has recovered.",
                    details={"circuit": BreakerState.HALF_OPEN.value, "retry_in_seconds": 1},
                    headers={"Retry-After": "1"},
                )
            self._trial_running = True
            return True
        return False

    def _succeeded(self, trial: bool) -> None:
        if trial:
            self._trial_running = False
            self._failures = 0
            self._move_to(BreakerState.CLOSED)
        elif self._state is BreakerState.CLOSED:
            self._failures = 0

    def _failed(self, trial: bool) -> None:
        if trial:
            self._trial_running = False
            self._open()
        elif self._state is BreakerState.CLOSED:
            # Calls admitted before the circuit opened and ending after it have no say: the trial decides.
            self._failures += 1
            if self._failures >= self.threshold:
                self._open()

    def _abandoned(self, trial: bool) -> None:
        if trial:
            self._trial_running = False

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move_to(BreakerState.OPEN)

    def _retry_in(self) -> float:
        return self._opened_at + self.reset_seconds - self._clock()

    def _move_to(self, state: BreakerState) -> None:
        before, self._state = self._state, state
        LLM_BREAKER_TRANSITIONS.labels(state.value).inc()
        if before is BreakerState.CLOSED:
            LLM_BREAKERS_NOT_CLOSED.inc()
        elif state is BreakerState.CLOSED:
            LLM_BREAKERS_NOT_CLOSED.dec()
        level = log.warning if state is BreakerState.OPEN else log.info
        level("llm_circuit_" + state.value, endpoint=self.name, failures=self._failures)
