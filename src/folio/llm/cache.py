"""The model clients a process keeps open: one per endpoint (model, base URL, key), bounded in number and idle time.

Every settings change with a new key makes a new endpoint, so without a bound the clients (each with its connection
pool) would pile up for the life of the process. The cache keeps the `size` most recently used and drops those
unused for `idle_seconds`. A dropped client may still be in use (a stream in progress, or a job that holds the
provider between calls): it is closed when its last call in flight ends, and a later call through it opens a
connection pool again, which is closed in turn when that call ends.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from folio.llm.openai_compatible import Endpoint
from folio.llm.provider import LLMProvider
from folio.llm.wrapped import Operation, WrappedLLM


class CachedLLM(WrappedLLM):
    """`LLMProvider` kept by `ClientCache`: counts its calls in flight and closes its client once retired and idle."""

    def __init__(self, provider: LLMProvider, clock: Callable[[], float]) -> None:
        super().__init__(provider)
        self.in_flight = 0
        self.retired = False
        self._clock = clock
        self.last_used = clock()

    @asynccontextmanager
    async def held(self, operation: Operation) -> AsyncIterator[None]:
        self.in_flight += 1
        self.last_used = self._clock()
        try:
            yield
        finally:
            self.in_flight -= 1
            self.last_used = self._clock()
            if self.retired and self.in_flight == 0:
                await self.provider.close()

    async def close(self) -> None:
        """The cache owns the client: a holder's close only lets go of it."""

    async def retire(self) -> None:
        """Out of the cache: the client closes now if idle, else when its last call ends."""
        self.retired = True
        if self.in_flight == 0:
            await self.provider.close()


class ClientCache:
    """At most `size` providers, least recently used dropped first; one unused for `idle_seconds` is dropped at the
    next lookup."""

    def __init__(
        self,
        factory: Callable[[Endpoint], LLMProvider],
        *,
        size: int,
        idle_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.idle_seconds = idle_seconds
        self._factory = factory
        self._clock = clock
        self._entries: OrderedDict[Endpoint, CachedLLM] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, endpoint: Endpoint) -> bool:
        return endpoint in self._entries

    async def get(self, endpoint: Endpoint) -> CachedLLM:
        dropped = self._idle()
        entry = self._entries.get(endpoint)
        if entry is None:
            entry = CachedLLM(self._factory(endpoint), self._clock)
            self._entries[endpoint] = entry
            while len(self._entries) > self.size:
                dropped.append(self._entries.popitem(last=False)[1])
        else:
            self._entries.move_to_end(endpoint)
            entry.last_used = self._clock()
        for old in dropped:
            await old.retire()
        return entry

    async def close(self) -> None:
        """At shutdown: every client closed, in use or not."""
        entries, self._entries = list(self._entries.values()), OrderedDict()
        for entry in entries:
            entry.retired = True
            await entry.provider.close()

    def _idle(self) -> list[CachedLLM]:
        cutoff = self._clock() - self.idle_seconds
        idle = [
            endpoint for endpoint, entry in self._entries.items() if entry.in_flight == 0 and entry.last_used <= cutoff
        ]
        return [self._entries.pop(endpoint) for endpoint in idle]
