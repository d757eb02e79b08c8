"""The circuit breaker: closed → open after N consecutive failures → half-open after the reset time → one trial."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from prometheus_client import REGISTRY

from folio.llm.breaker import BreakerState, CircuitBreaker
from folio.llm.errors import LLMRateLimited, LLMTimeout, LLMUnavailable
from folio.llm.guarded import GuardedLLM
from folio.llm.openai_compatible import Endpoint, OpenAICompatibleLLM
from folio.llm.provider import Message
from folio.outbound import OutboundPolicy
from folio.settings import LLMSettings
from tests.fake_openai import FakeOpenAI, serve_fake_openai

QUESTION: list[Message] = [{"role": "user", "content": "Anyone there?"}]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def breaker_with(clock: Clock, failures: int = 3, reset_seconds: float = 30) -> CircuitBreaker:
    return CircuitBreaker("fake-chat at 127.0.0.1", failures=failures, reset_seconds=reset_seconds, clock=clock)


async def fail(breaker: CircuitBreaker, error: Exception | None = None) -> None:
    with pytest.raises(type(error or LLMUnavailable())):
        async with breaker.guard():
            raise error or LLMUnavailable("upstream 500")


async def succeed(breaker: CircuitBreaker) -> None:
    async with breaker.guard():
        pass


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """Read through a function: mypy would otherwise keep the state narrowed from the previous assert."""
    return breaker.state


def calls(operation: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("folio_llm_calls_total", {"operation": operation, "outcome": outcome}) or 0.0


# The state machine, on a fake clock


async def test_it_opens_after_n_consecutive_failures_and_refuses_at_once(clock: Clock) -> None:
    breaker = breaker_with(clock)
    await fail(breaker)
    await fail(breaker, LLMTimeout())
    assert state_of(breaker) is BreakerState.CLOSED
    await fail(breaker)
    assert state_of(breaker) is BreakerState.OPEN

    ran = False
    with pytest.raises(LLMUnavailable) as raised:
        async with breaker.guard():
            ran = True
    assert not ran
    assert "circuit" in raised.value.detail_message
    assert raised.value.details == {"circuit": "open", "retry_in_seconds": 30}
    assert raised.value.headers == {"Retry-After": "30"}


async def test_a_success_resets_the_count_of_failures(clock: Clock) -> None:
    breaker = breaker_with(clock)
    await fail(breaker)
    await fail(breaker)
    await succeed(breaker)
    await fail(breaker)
    await fail(breaker)
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.consecutive_failures == 2


async def test_rate_limits_never_open_the_circuit(clock: Clock) -> None:
    breaker = breaker_with(clock)
    for _ in range(10):
        await fail(breaker, LLMRateLimited(retry_after=5))
    assert state_of(breaker) is BreakerState.CLOSED


async def test_a_rate_limit_shows_the_upstream_is_up_and_resets_the_count(clock: Clock) -> None:
    breaker = breaker_with(clock)
    await fail(breaker)
    await fail(breaker)
    await fail(breaker, LLMRateLimited())
    assert breaker.consecutive_failures == 0
    await fail(breaker)
    await fail(breaker)
    assert state_of(breaker) is BreakerState.CLOSED


async def test_a_rate_limited_trial_closes_the_circuit(clock: Clock) -> None:
    breaker = breaker_with(clock, failures=1, reset_seconds=1)
    await fail(breaker)
    clock.now += 1
    await fail(breaker, LLMRateLimited())
    assert state_of(breaker) is BreakerState.CLOSED


async def test_other_errors_and_cancellation_count_as_neither(clock: Clock) -> None:
    breaker = breaker_with(clock, failures=1)
    for error in (ValueError("a bug"), asyncio.CancelledError()):
        with pytest.raises(type(error)):
            async with breaker.guard():
                raise error
    assert state_of(breaker) is BreakerState.CLOSED


async def test_after_the_reset_time_one_trial_goes_out_and_its_success_closes(clock: Clock) -> None:
    breaker = breaker_with(clock, failures=1, reset_seconds=30)
    await fail(breaker)
    clock.now += 29
    with pytest.raises(LLMUnavailable):
        await succeed(breaker)
    clock.now += 1
    assert state_of(breaker) is BreakerState.HALF_OPEN

    async with breaker.guard():
        # While the trial runs, every other call is refused.
        with pytest.raises(LLMUnavailable) as raised:
            await succeed(breaker)
        assert raised.value.details["circuit"] == "half_open"
    assert state_of(breaker) is BreakerState.CLOSED
    await succeed(breaker)


async def test_a_failed_trial_reopens_for_another_reset_time(clock: Clock) -> None:
    breaker = breaker_with(clock, failures=2, reset_seconds=10)
    await fail(breaker)
    await fail(breaker)
    clock.now += 10
    await fail(breaker, LLMTimeout())
    assert state_of(breaker) is BreakerState.OPEN
    clock.now += 9
    with pytest.raises(LLMUnavailable):
        await succeed(breaker)
    clock.now += 1
    await succeed(breaker)
    assert state_of(breaker) is BreakerState.CLOSED


async def test_an_abandoned_trial_lets_the_next_call_be_the_trial(clock: Clock) -> None:
    breaker = breaker_with(clock, failures=1, reset_seconds=5)
    await fail(breaker)
    clock.now += 5
    with pytest.raises(asyncio.CancelledError):
        async with breaker.guard():
            raise asyncio.CancelledError()
    assert state_of(breaker) is BreakerState.HALF_OPEN
    await succeed(breaker)
    assert state_of(breaker) is BreakerState.CLOSED


async def test_a_call_started_before_the_circuit_opened_does_not_close_it(clock: Clock) -> None:
    breaker = breaker_with(clock, failures=1)
    slow = breaker.guard()
    await slow.__aenter__()
    await fail(breaker)
    assert state_of(breaker) is BreakerState.OPEN
    await slow.__aexit__(None, None, None)
    assert state_of(breaker) is BreakerState.OPEN


async def test_transitions_are_counted_in_the_metrics(clock: Clock) -> None:
    def transitions(state: str) -> float:
        return REGISTRY.get_sample_value("folio_llm_breaker_transitions_total", {"state": state}) or 0.0

    before = {state: transitions(state) for state in ("open", "half_open", "closed")}
    breaker = breaker_with(clock, failures=1, reset_seconds=1)
    await fail(breaker)
    clock.now += 1
    await succeed(breaker)
    assert {state: transitions(state) - before[state] for state in before} == {
        "open": 1,
        "half_open": 1,
        "closed": 1,
    }


# Around a real client, against the fake server


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as server:
        yield server


@pytest.fixture
async def guarded(fake: FakeOpenAI, clock: Clock) -> AsyncIterator[GuardedLLM]:
    settings = LLMSettings.model_validate({"provider": "openai", "max_retries": 0, "timeout_seconds": 10})
    provider = GuardedLLM(
        OpenAICompatibleLLM(
            Endpoint("fake-chat", fake.base_url, "sk-test"), settings, OutboundPolicy(allow_private=True)
        ),
        breaker_with(clock, failures=3, reset_seconds=30),
    )
    yield provider
    await provider.close()


async def test_while_open_no_request_reaches_the_server(fake: FakeOpenAI, guarded: GuardedLLM, clock: Clock) -> None:
    fake.fail_next = [500, 502, 503]
    for _ in range(3):
        with pytest.raises(LLMUnavailable):
            await guarded.complete(QUESTION)
    assert len(fake.chat_requests()) == 3
    refused_before = calls("complete", "circuit_open")

    for _ in range(5):
        with pytest.raises(LLMUnavailable, match="circuit"):
            await guarded.complete(QUESTION)
    with pytest.raises(LLMUnavailable, match="circuit"):
        async for _delta in guarded.stream(QUESTION):
            pass

    assert len(fake.chat_requests()) == 3
    assert calls("complete", "circuit_open") - refused_before == 5

    clock.now += 30
    fake.replies = ["Back again."]
    assert (await guarded.complete(QUESTION)).text == "Back again."
    assert state_of(guarded.breaker) is BreakerState.CLOSED
    assert len(fake.chat_requests()) == 4


async def test_a_failing_stream_counts_against_the_circuit(fake: FakeOpenAI, guarded: GuardedLLM) -> None:
    fake.fail_stream_after = 1
    for _ in range(3):
        with pytest.raises(LLMUnavailable):
            async for _delta in guarded.stream(QUESTION):
                pass
    assert state_of(guarded.breaker) is BreakerState.OPEN


async def test_calls_are_counted_by_outcome(fake: FakeOpenAI, guarded: GuardedLLM) -> None:
    before: dict[tuple[str, str], Any] = {
        key: calls(*key) for key in [("complete", "ok"), ("stream", "ok"), ("complete", "rate_limited")]
    }
    await guarded.complete(QUESTION)
    async for _delta in guarded.stream(QUESTION):
        pass
    fake.fail_next = [429]
    with pytest.raises(LLMRateLimited):
        await guarded.complete(QUESTION)
    assert {key: calls(*key) - value for key, value in before.items()} == {
        ("complete", "ok"): 1,
        ("stream", "ok"): 1,
        ("complete", "rate_limited"): 1,
    }
