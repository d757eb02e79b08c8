"""The bounded model-client cache: least recently used out first, idle clients out, closed only once idle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from folio.llm.cache import ClientCache
from folio.llm.openai_compatible import Endpoint
from folio.llm.provider import Completion, Delta, Message, Usage

QUESTION: list[Message] = [{"role": "user", "content": "Still there?"}]


class StubLLM:
    """A provider whose calls wait for `release`, and which counts how often it was closed."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.closed = 0
        self.calls_after_close = 0
        self.release = asyncio.Event()
        self.release.set()

    @property
    def model(self) -> str:
        return self.endpoint.model

    async def complete(self, messages: Sequence[Message], **options: Any) -> Completion:
        await self.release.wait()
        self.calls_after_close += self.closed > 0
        return Completion("ok", self.model, Usage())

    async def stream(self, messages: Sequence[Message], **options: Any) -> AsyncIterator[Delta]:
        yield Delta(text="first ")
        await self.release.wait()
        yield Delta(text="last")

    async def close(self) -> None:
        self.closed += 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def made() -> list[StubLLM]:
    return []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def cache(made: list[StubLLM], clock: Clock) -> ClientCache:
    def factory(endpoint: Endpoint) -> StubLLM:
        made.append(StubLLM(endpoint))
        return made[-1]

    return ClientCache(factory, size=3, idle_seconds=60, clock=clock)


def endpoint(n: int) -> Endpoint:
    return Endpoint("model", "https://models.example.com/v1", f"sk-key-{n}")


async def test_new_keys_never_grow_the_cache_past_its_size_and_dropped_clients_are_closed(
    cache: ClientCache, made: list[StubLLM]
) -> None:
    for n in range(50):
        provider = await cache.get(endpoint(n))
        await provider.complete(QUESTION)
        assert len(cache) <= 3

    assert len(made) == 50
    assert [stub.closed for stub in made[:47]] == [1] * 47
    assert [stub.closed for stub in made[47:]] == [0, 0, 0]


async def test_the_least_recently_used_goes_first(cache: ClientCache, made: list[StubLLM]) -> None:
    for n in range(3):
        await cache.get(endpoint(n))
    await cache.get(endpoint(0))  # used again: now the newest
    await cache.get(endpoint(3))
    assert endpoint(0) in cache
    assert endpoint(1) not in cache
    assert made[1].closed == 1
    assert made[0].closed == 0


async def test_equal_endpoints_share_one_client(cache: ClientCache) -> None:
    assert await cache.get(endpoint(1)) is await cache.get(endpoint(1))
    assert len(cache) == 1


async def test_an_idle_client_is_dropped_at_the_next_lookup(
    cache: ClientCache, made: list[StubLLM], clock: Clock
) -> None:
    await cache.get(endpoint(0))
    clock.now += 30
    busy = await cache.get(endpoint(1))
    clock.now += 31

    await cache.get(endpoint(2))

    assert endpoint(0) not in cache
    assert made[0].closed == 1
    assert endpoint(1) in cache  # used 31 s ago
    assert busy.retired is False


async def test_a_dropped_client_in_use_closes_only_when_its_call_ends(cache: ClientCache, made: list[StubLLM]) -> None:
    provider = await cache.get(endpoint(0))
    made[0].release.clear()
    call = asyncio.create_task(provider.complete(QUESTION))
    await asyncio.sleep(0)
    for n in range(1, 5):
        await cache.get(endpoint(n))

    assert endpoint(0) not in cache
    assert made[0].closed == 0, "closed under a call in flight"
    made[0].release.set()
    assert (await call).text == "ok"
    assert made[0].closed == 1


async def test_a_dropped_client_streaming_closes_when_the_stream_ends(cache: ClientCache, made: list[StubLLM]) -> None:
    provider = await cache.get(endpoint(0))
    made[0].release.clear()
    deltas = provider.stream(QUESTION)
    assert (await anext(deltas)).text == "first "
    for n in range(1, 5):
        await cache.get(endpoint(n))
    assert made[0].closed == 0

    made[0].release.set()
    assert [delta.text async for delta in deltas] == ["last"]
    assert made[0].closed == 1


async def test_a_holder_of_a_dropped_client_can_still_call_and_it_is_closed_again(
    cache: ClientCache, made: list[StubLLM]
) -> None:
    held = await cache.get(endpoint(0))
    for n in range(1, 5):
        await cache.get(endpoint(n))
    assert made[0].closed == 1

    assert (await held.complete(QUESTION)).text == "ok"
    assert made[0].calls_after_close == 1
    assert made[0].closed == 2


async def test_close_closes_everything(cache: ClientCache, made: list[StubLLM]) -> None:
    for n in range(3):
        await cache.get(endpoint(n))
    await cache.close()
    assert [stub.closed for stub in made] == [1, 1, 1]
    assert len(cache) == 0
