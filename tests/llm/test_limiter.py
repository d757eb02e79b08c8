"""Per-organization concurrency of model calls: in one process, and across processes through the real Redis."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from typing import Any
from uuid import UUID

import pytest
from redis.asyncio import Redis

from folio.llm.errors import PASSING_ERRORS, LLMBusy, LLMRateLimited
from folio.llm.limiter import LocalLimiter, OrgLimitedLLM, SlotLimiter
from folio.llm.provider import Completion, Delta, Message, Usage
from folio.llm.redis_limiter import RedisLimiter
from folio.llm.registry import LLMRegistry
from tests.conftest import make_settings

REDIS_URL = os.environ.get("FOLIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
QUESTION: list[Message] = [{"role": "user", "content": "Busy?"}]
ORG, OTHER_ORG = uuid.uuid4(), uuid.uuid4()


class HeldLLM:
    """A provider whose calls run until `release` is set; counts the calls running at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.running = 0
        self.started = asyncio.Event()

    @property
    def model(self) -> str:
        return "held"

    async def complete(self, messages: Sequence[Message], **options: Any) -> Completion:
        self.running += 1
        self.started.set()
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        return Completion("done", "held", Usage())

    async def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Delta]:
        self.running += 1
        try:
            yield Delta(text="first ")
            await self.release.wait()
            yield Delta(text="last")
        finally:
            self.running -= 1

    async def close(self) -> None:
        return None


async def refused(model: OrgLimitedLLM) -> None:
    """A call expected to be refused; if it is let through, the test fails rather than waits for a release."""
    async with asyncio.timeout(10):
        await model.complete(QUESTION)


async def lease_end(redis: Redis, key: str) -> float:
    rows: list[Any] = await redis.zrange(key, 0, -1, withscores=True)
    return float(rows[0][1])


async def started(provider: HeldLLM, count: int) -> None:
    while provider.running < count:  # noqa: ASYNC110 -- the calls start on the next turns of this loop
        await asyncio.sleep(0)


async def test_an_organization_gets_at_most_its_slots_and_then_llm_busy() -> None:
    limiter = LocalLimiter(limit=2, wait_seconds=0)
    provider = HeldLLM()
    model = OrgLimitedLLM(provider, limiter, ORG)
    calls = [asyncio.create_task(model.complete(QUESTION)) for _ in range(2)]
    await started(provider, 2)

    with pytest.raises(LLMBusy) as raised:
        await refused(model)

    error = raised.value
    assert (error.status_code, error.code) == (429, "LLM_BUSY")
    assert int(error.headers["Retry-After"]) >= 1
    # Jobs retry it later; answers document it with the rate-limit errors.
    assert isinstance(error, PASSING_ERRORS)
    assert isinstance(error, LLMRateLimited)
    # Another organization is not affected.
    other = OrgLimitedLLM(HeldLLM(), limiter, OTHER_ORG)
    assert isinstance(other.provider, HeldLLM)
    other.provider.release.set()
    assert (await other.complete(QUESTION)).text == "done"

    provider.release.set()
    assert [completion.text for completion in await asyncio.gather(*calls)] == ["done", "done"]
    assert limiter.running(ORG) == 0


async def test_a_waiting_call_takes_the_slot_a_finished_call_frees() -> None:
    limiter = LocalLimiter(limit=1, wait_seconds=30)
    first, second = HeldLLM(), HeldLLM()
    running = asyncio.create_task(OrgLimitedLLM(first, limiter, ORG).complete(QUESTION))
    await first.started.wait()
    waiting = asyncio.create_task(OrgLimitedLLM(second, limiter, ORG).complete(QUESTION))
    await asyncio.sleep(0.05)
    assert second.running == 0, "ran past the limit"

    first.release.set()
    second.release.set()
    assert (await running).text == (await waiting).text == "done"
    assert limiter.running(ORG) == 0


async def test_a_stream_holds_its_slot_until_it_ends() -> None:
    limiter = LocalLimiter(limit=1, wait_seconds=0)
    provider = HeldLLM()
    model = OrgLimitedLLM(provider, limiter, ORG)
    deltas = model.stream(QUESTION)
    assert (await anext(deltas)).text == "first "

    with pytest.raises(LLMBusy):
        await refused(model)

    provider.release.set()
    assert [delta.text async for delta in deltas] == ["last"]
    assert (await model.complete(QUESTION)).text == "done"


async def test_a_stream_given_up_early_frees_its_slot() -> None:
    limiter = LocalLimiter(limit=1, wait_seconds=0)
    provider = HeldLLM()
    model = OrgLimitedLLM(provider, limiter, ORG)
    deltas = model.stream(QUESTION)
    await anext(deltas)
    await deltas.aclose()  # type: ignore[attr-defined]
    assert limiter.running(ORG) == 0
    provider.release.set()
    assert (await model.complete(QUESTION)).text == "done"


# Across processes: two limiters on one Redis are two processes.


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def processes(redis: Redis) -> AsyncIterator[list[RedisLimiter]]:
    prefix = f"folio:test:llm-slots:{uuid.uuid4().hex}:"
    limiters = [
        RedisLimiter(Redis.from_url(REDIS_URL), limit=2, wait_seconds=0, lease_seconds=30, prefix=prefix)
        for _ in range(2)
    ]
    yield limiters
    for limiter in limiters:
        await limiter.close()
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await redis.delete(*keys)


async def hold(stack: AsyncExitStack, limiter: SlotLimiter, org_id: UUID) -> None:
    await stack.enter_async_context(limiter.slot(org_id))


async def test_two_processes_share_one_bound(processes: list[RedisLimiter]) -> None:
    one, two = processes
    async with AsyncExitStack() as stack:
        await hold(stack, one, ORG)
        await hold(stack, two, ORG)
        assert await one.holders(ORG) == 2
        for process in (one, two):
            with pytest.raises(LLMBusy):
                await hold(stack, process, ORG)
        # Another organization has slots of its own.
        await hold(stack, two, OTHER_ORG)
    assert await one.holders(ORG) == 0

    async with one.slot(ORG), two.slot(ORG):
        assert await two.holders(ORG) == 2


async def test_a_waiting_process_gets_the_slot_another_process_frees(processes: list[RedisLimiter]) -> None:
    one, two = processes
    two.wait_seconds = 30
    first_done, taken, counted = asyncio.Event(), asyncio.Event(), asyncio.Event()
    async with AsyncExitStack() as stack:
        await hold(stack, one, ORG)
        await hold(stack, one, ORG)

        async def wait_then_hold() -> None:
            async with two.slot(ORG):
                assert first_done.is_set(), "took a slot before one was free"
                taken.set()
                await counted.wait()

        waiting = asyncio.create_task(wait_then_hold())
        await asyncio.sleep(0.1)
        first_done.set()
        await stack.aclose()
        # Counted once both of the first process's slots are free: the waiter may take the first before the
        # second is given back.
        await asyncio.wait_for(taken.wait(), timeout=30)
        assert await two.holders(ORG) == 1
        counted.set()
        await waiting


async def test_slots_of_a_crashed_process_free_themselves_when_their_lease_ends(
    processes: list[RedisLimiter], redis: Redis
) -> None:
    one, _ = processes
    key = one.key(ORG)
    # A process that died holding both slots: one lease already over, one still running.
    seconds, micros = await redis.time()
    now_ms = seconds * 1000 + micros // 1000
    await redis.zadd(key, {"dead-process-expired": now_ms - 1, "live-process": now_ms + 60_000})

    async with one.slot(ORG):
        assert await redis.zscore(key, "dead-process-expired") is None
        with pytest.raises(LLMBusy):
            await hold(AsyncExitStack(), one, ORG)


async def test_a_held_slot_is_renewed_while_the_call_runs(redis: Redis) -> None:
    prefix = f"folio:test:llm-slots:{uuid.uuid4().hex}:"
    limiter = RedisLimiter(Redis.from_url(REDIS_URL), limit=1, wait_seconds=0, lease_seconds=0.6, prefix=prefix)
    try:
        async with limiter.slot(ORG):
            first_end = await lease_end(redis, limiter.key(ORG))
            async with asyncio.timeout(10):
                while await lease_end(redis, limiter.key(ORG)) <= first_end:  # noqa: ASYNC110 -- polls Redis
                    await asyncio.sleep(0.05)
    finally:
        await limiter.close()
        await redis.delete(limiter.key(ORG))


async def test_without_redis_a_process_counts_its_own_slots() -> None:
    limiter = RedisLimiter(
        Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1), limit=1, wait_seconds=0, lease_seconds=30
    )
    try:
        async with limiter.slot(ORG):
            with pytest.raises(LLMBusy):
                await hold(AsyncExitStack(), limiter, ORG)
    finally:
        await limiter.close()


async def test_the_registry_shares_slots_through_redis_when_configured(database_url: str) -> None:
    registry = LLMRegistry(make_settings(database_url, redis_url=REDIS_URL))
    try:
        assert isinstance(registry.limiter, RedisLimiter)
        assert registry.limiter.limit == registry.settings.org_concurrency
    finally:
        await registry.close()
    local = LLMRegistry(make_settings(database_url))
    assert isinstance(local.limiter, LocalLimiter)
    await local.close()
