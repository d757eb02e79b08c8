"""Organization slots shared by every process through Redis: a sorted set of leases per organization.

Each holder is a member whose score is its lease's end, in Redis's own clock (so processes' clocks need not agree).
Taking a slot is one script: drop expired leases, and add one if fewer than the limit remain. A holder renews its
lease every third of its length while its call runs; a process that dies stops renewing, and its slots free
themselves when their leases end. If Redis cannot be reached, the process falls back to counting its own slots
(the bound then holds per process) rather than refusing every model call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from folio.jitter import jitter
from folio.llm.limiter import LocalLimiter, busy

log = structlog.get_logger(__name__)

_NOW_MS = """
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
"""
# KEYS[1] the organization's set; ARGV: limit, lease in ms, holder. 1 if the slot was taken.
_ACQUIRE = (
    _NOW_MS
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
)
# KEYS[1] the set; ARGV: lease in ms, holder. 0 if the lease had already ended (and was taken back).
_RENEW = (
    _NOW_MS
    + """
local ends = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not ends or tonumber(ends) <= now then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""
)
_FIRST_POLL, _LONGEST_POLL = 0.02, 0.25


class RedisLimiter:
    """`SlotLimiter` over Redis; `prefix` keeps tests (and deployments sharing a Redis) apart."""

    def __init__(
        self,
        redis: Redis,
        *,
        limit: int,
        wait_seconds: float,
        lease_seconds: float,
        prefix: str = "folio:llm:slots:",
    ) -> None:
        self.redis = redis
        self.limit = limit
        self.wait_seconds = wait_seconds
        self.lease_ms = int(lease_seconds * 1000)
        self.prefix = prefix
        self._acquire = redis.register_script(_ACQUIRE)
        self._renew = redis.register_script(_RENEW)
        self._fallback = LocalLimiter(limit, wait_seconds)

    @classmethod
    def from_url(cls, url: str, *, limit: int, wait_seconds: float, lease_seconds: float) -> RedisLimiter:
        # Short socket timeouts: a Redis that hangs must cost a call a second or two, not the model's timeout.
        redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        return cls(redis, limit=limit, wait_seconds=wait_seconds, lease_seconds=lease_seconds)

    def key(self, org_id: UUID) -> str:
        return f"{self.prefix}{org_id}"

    async def holders(self, org_id: UUID) -> int:
        """Leases of the organization not yet ended (for tests and diagnostics)."""
        now_ms = int(time.time() * 1000)
        return int(await self.redis.zcount(self.key(org_id), f"({now_ms}", "+inf"))

    @asynccontextmanager
    async def slot(self, org_id: UUID) -> AsyncIterator[None]:
        key, holder = self.key(org_id), uuid.uuid4().hex
        try:
            taken = await self._take(key, holder)
        except RedisError as exc:
            log.warning("llm_slots_redis_unavailable", error=str(exc))
            async with self._fallback.slot(org_id):
                yield
            return
        if not taken:
            raise busy(self.limit, self.wait_seconds)
        renewer = asyncio.create_task(self._keep(key, holder))
        try:
            yield
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            try:
                await self.redis.zrem(key, holder)
            except RedisError as exc:  # the lease ends by itself
                log.warning("llm_slot_release_failed", error=str(exc))

    async def close(self) -> None:
        await self.redis.aclose()

    async def _take(self, key: str, holder: str) -> bool:
        deadline = time.monotonic() + self.wait_seconds
        pause = _FIRST_POLL
        while True:
            if await self._acquire(keys=[key], args=[self.limit, self.lease_ms, holder]):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            await asyncio.sleep(min(left, pause * jitter(0.5, 1.0)))
            pause = min(pause * 2, _LONGEST_POLL)

    async def _keep(self, key: str, holder: str) -> None:
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                if not await self._renew(keys=[key], args=[self.lease_ms, holder]):
                    log.warning("llm_slot_lease_lost", key=key)
                    return
            except RedisError as exc:
                log.warning("llm_slot_renewal_failed", error=str(exc))
