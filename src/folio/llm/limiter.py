"""At most FOLIO_LLM__ORG_CONCURRENCY model calls of one organization at once.

Every model call of an organization (answers, chats, /v1, summaries, enrichment) goes through the provider
`LLMRegistry.for_org` returns, which is wrapped here: a call takes one of the organization's slots, and a stream
keeps it until it ends. A call that finds every slot taken waits up to FOLIO_LLM__ORG_BUSY_WAIT_SECONDS, then fails
with `LLMBusy` (429 with Retry-After) instead of queueing without end. One process counts slots in memory; with
FOLIO_REDIS_URL every process counts them in Redis (`folio.llm.redis_limiter`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from folio.llm.errors import LLMBusy
from folio.llm.provider import LLMProvider
from folio.llm.wrapped import Operation, WrappedLLM


class SlotLimiter(Protocol):
    def slot(self, org_id: UUID) -> AbstractAsyncContextManager[None]:
        """Hold one of the organization's slots for the block; raises `LLMBusy` when none frees in time."""
        ...

    async def close(self) -> None: ...


def busy(limit: int, wait_seconds: float) -> LLMBusy:
    return LLMBusy(
        f"Your organization already has {limit} language-model calls running (FOLIO_LLM__ORG_CONCURRENCY) and none "
        f"ended within {wait_seconds:g} s.",
        retry_after=max(1, math.ceil(wait_seconds)),
        details={"limit": limit},
    )


@dataclass
class _OrgSlots:
    semaphore: asyncio.Semaphore
    # Calls holding a slot, and calls holding or waiting for one (the entry goes when that reaches 0).
    held: int = 0
    users: int = 0


class LocalLimiter:
    """Slots counted in this process; an organization's counter exists only while someone holds or awaits one."""

    def __init__(self, limit: int, wait_seconds: float) -> None:
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._orgs: dict[UUID, _OrgSlots] = {}

    def running(self, org_id: UUID) -> int:
        slots = self._orgs.get(org_id)
        return 0 if slots is None else slots.held

    @asynccontextmanager
    async def slot(self, org_id: UUID) -> AsyncIterator[None]:
        slots = self._orgs.get(org_id)
        if slots is None:
            slots = self._orgs[org_id] = _OrgSlots(asyncio.Semaphore(self.limit))
        slots.users += 1
        try:
            if slots.semaphore.locked() and self.wait_seconds <= 0:
                raise busy(self.limit, self.wait_seconds)
            try:
                async with asyncio.timeout(self.wait_seconds):
                    await slots.semaphore.acquire()
            except TimeoutError:
                raise busy(self.limit, self.wait_seconds) from None
            slots.held += 1
            try:
                yield
            finally:
                slots.held -= 1
                slots.semaphore.release()
        finally:
            slots.users -= 1
            if slots.users == 0:
                del self._orgs[org_id]

    async def close(self) -> None:
        """Nothing to release."""


class OrgLimitedLLM(WrappedLLM):
    """The organization's provider, each call holding one of its slots."""

    def __init__(self, provider: LLMProvider, limiter: SlotLimiter, org_id: UUID) -> None:
        super().__init__(provider)
        self.limiter = limiter
        self.org_id = org_id

    def held(self, operation: Operation) -> AbstractAsyncContextManager[None]:
        return self.limiter.slot(self.org_id)

    async def close(self) -> None:
        """The registry owns the model's connections; nothing to release here."""
