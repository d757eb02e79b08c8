"""Rate limits: the sliding window counter of the `limits` library, counted in this process's memory (embedded) or
in Redis when FOLIO_REDIS_URL is set, with the library's arithmetic in both.

Authenticated requests count against their API key or user; requests without valid credentials count
against the client address; login, registration and refresh have a stricter per-address policy.
If the storage fails the request is served (fail open), a warning is logged and a metric counts it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import StrEnum
from math import floor, inf

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import RedisStorage
from redis.asyncio import ConnectionPool, Redis

from folio.errors import RateLimitExceeded
from folio.observability import metrics
from folio.settings import RateLimitSettings

log = structlog.get_logger(__name__)

# The least number of hits between two sweeps of stale in-memory counters.
_SWEEP_AT_LEAST = 1024

# `limits`' sliding window counter in Redis (its `acquire_sliding_window.lua`), answering with the window too: the
# library's strategy asks Redis twice per limit, to acquire and then to read the window the headers report, and
# each round trip costs a cached request ~0.2 ms of CPU. Its keys (KEYS[1] the previous window, KEYS[2] the
# current) and TTLs in milliseconds; returns whether the hit counted and the counts and TTLs after it.
_ACQUIRE = """
local expiry = tonumber(ARGV[2]) * 1000
local current_ttl = tonumber(redis.call('pttl', KEYS[2]))
if current_ttl > 0 and current_ttl < expiry then
    redis.call('rename', KEYS[2], KEYS[1])
    redis.call('set', KEYS[2], 0, 'PX', current_ttl + expiry)
end
local previous = tonumber(redis.call('get', KEYS[1])) or 0
local previous_ttl = math.max(tonumber(redis.call('pttl', KEYS[1])), 0)
local current = tonumber(redis.call('get', KEYS[2])) or 0
current_ttl = math.max(tonumber(redis.call('pttl', KEYS[2])), 0)
local allowed = math.floor(previous * previous_ttl / expiry) + current + 1 <= tonumber(ARGV[1])
if allowed then
    if redis.call('exists', KEYS[2]) == 1 then
        current = redis.call('incr', KEYS[2])
    else
        redis.call('set', KEYS[2], 1, 'PX', expiry * 2)
        -- A millisecond on, as the library's own read of it finds it: two whole windows would read as "reset now".
        current, current_ttl = 1, expiry * 2 - 1
    end
end
return {allowed and 1 or 0, previous, previous_ttl, current, current_ttl}
"""


class Policy(StrEnum):
    USER = "user"
    API_KEY = "api_key"
    ANONYMOUS = "anonymous"
    AUTH = "auth"


@dataclass(frozen=True, slots=True)
class Window:
    limit: int
    remaining: int
    reset_at: float

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(self.remaining, 0)),
            "X-RateLimit-Reset": str(math.ceil(self.reset_at)),
        }


def window_after(
    item: RateLimitItem, previous: int, previous_ttl: float, current: int, current_ttl: float, now: float
) -> Window:
    """The window `limits`' `get_window_stats` reports for these counts and TTLs (seconds)."""
    expiry = item.get_expiry()
    remaining = max(0, item.amount - floor(previous * previous_ttl / expiry + current))
    previous_reset = previous_ttl % (expiry / previous) if previous else inf
    current_reset = current_ttl % expiry if current else inf
    reset_in = min(previous_reset, current_reset)
    return Window(item.amount, remaining, now + (reset_in if reset_in != inf else 0.0))


class MemoryWindows:
    """The sliding window counter of `limits` (its arithmetic, window for window) in this process's memory.

    `limits`' own memory storage starts a task at nearly every hit that walks every key to expire the old ones,
    which cost more than the rest of a cached request; here a counter two windows old is dropped by a sweep once
    as many hits as there are counters have gone by (amortised constant time)."""

    def __init__(self) -> None:
        # (policy, identity, amount, seconds) -> [current window's number, previous window's hits, current's hits]
        self._counters: dict[tuple[str, str, int, int], list[int]] = {}
        self._until_sweep = _SWEEP_AT_LEAST

    def hit(self, item: RateLimitItem, policy: Policy, identity: str, now: float) -> tuple[bool, Window]:
        """Count one hit if the window allows it; whether it did, and the window after."""
        expiry = item.get_expiry()
        window = int(now / expiry)
        key = (policy.value, identity, item.amount, expiry)
        counter = self._counters.get(key)
        if counter is None or counter[0] < window - 1:
            previous = current = 0
        elif counter[0] == window - 1:
            previous, current = counter[2], 0
        else:
            previous, current = counter[1], counter[2]
        previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous else 0.0
        allowed = floor(previous * previous_ttl / expiry + current) + 1 <= item.amount
        if allowed:
            current += 1
        self._counters[key] = [window, previous, current]
        self._sweep(now)
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        return allowed, window_after(item, previous, previous_ttl, current, current_ttl, now)

    def reset(self) -> None:
        self._counters.clear()

    def _sweep(self, now: float) -> None:
        self._until_sweep -= 1
        if self._until_sweep > 0:
            return
        stale = [key for key, counter in self._counters.items() if counter[0] < int(now / key[3]) - 1]
        for key in stale:
            del self._counters[key]
        self._until_sweep = max(_SWEEP_AT_LEAST, len(self._counters))


class RateLimiter:
    def __init__(self, settings: RateLimitSettings, redis_url: str | None) -> None:
        self.enabled = settings.enabled
        self._pool: ConnectionPool | None = None
        self.memory: MemoryWindows | None = None
        self.storage: RedisStorage | None = None
        if redis_url:
            # Short timeouts so an unreachable Redis costs a request milliseconds, not seconds.
            self._pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=0.25, socket_timeout=0.25)
            # The library's storage names the keys and resets them; the hits go through `_ACQUIRE`.
            self.storage = RedisStorage(
                _async_redis_uri(redis_url),
                implementation="redispy",
                connection_pool=self._pool,  # type: ignore[arg-type]  # documented option; the stub types only scalars
            )
            self._acquire = Redis(connection_pool=self._pool).register_script(_ACQUIRE)
        else:
            self.memory = MemoryWindows()
        self.policies: dict[Policy, list[RateLimitItem]] = {
            policy: parse_many(getattr(settings, policy.value)) for policy in Policy
        }

    async def hit(self, policy: Policy, identity: str) -> Window | None:
        """Count one request; return the tightest window, raise RateLimitExceeded when one is spent."""
        if not self.enabled:
            return None
        try:
            return await self._hit(policy, identity)
        except RateLimitExceeded:
            raise
        except Exception as exc:  # the storage's errors are many (connection, timeout, protocol)
            metrics.RATE_LIMIT_STORAGE_ERRORS.inc()
            log.warning("rate_limit_storage_unavailable", error=repr(exc))
            return None

    async def _hit(self, policy: Policy, identity: str) -> Window | None:
        tightest: Window | None = None
        for item in self.policies[policy]:
            if self.memory is not None:
                allowed, window = self.memory.hit(item, policy, identity, time.time())
            else:
                allowed, window = await self._redis_hit(item, policy, identity)
            if not allowed:
                retry_after = max(1, math.ceil(window.reset_at - time.time()))
                raise RateLimitExceeded(
                    f"Rate limit of {item} exceeded.",
                    details={"limit": str(item), "retry_after": retry_after},
                    headers={**window.headers(), "Retry-After": str(retry_after)},
                )
            if tightest is None or window.remaining < tightest.remaining:
                tightest = window
        return tightest

    async def _redis_hit(self, item: RateLimitItem, policy: Policy, identity: str) -> tuple[bool, Window]:
        """One hit through `_ACQUIRE` on the storage's own keys (so that its `reset` clears them); the lock pins the
        library, and a test holds its strategy and this to the same counts."""
        storage = self.storage
        assert storage is not None  # noqa: S101 — one or the other, from __init__
        key = item.key_for(policy.value, identity)
        keys = [
            storage.bridge.prefixed_key(window(key))
            for window in (storage._previous_window_key, storage._current_window_key)
        ]
        found = await self._acquire(keys=keys, args=[item.amount, item.get_expiry()])
        allowed, previous, previous_ms, current, current_ms = (int(value) for value in found)
        return bool(allowed), window_after(item, previous, previous_ms / 1000, current, current_ms / 1000, time.time())

    async def reset(self) -> None:
        if self.memory is not None:
            self.memory.reset()
        elif self.storage is not None:
            await self.storage.reset()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


def _async_redis_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
