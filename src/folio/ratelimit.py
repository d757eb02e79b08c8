"""Rate limits: the sliding window counter of the `limits` library, counted in this process's memory (embedded) or
in Redis when FOLIO_REDIS_URL is set.

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
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio import ConnectionPool

from folio.errors import RateLimitExceeded
from folio.observability import metrics
from folio.settings import RateLimitSettings

log = structlog.get_logger(__name__)

# The least number of hits between two sweeps of stale in-memory counters.
_SWEEP_AT_LEAST = 1024


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
        remaining = max(0, item.amount - floor(previous * previous_ttl / expiry + current))
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        previous_reset = previous_ttl % (expiry / previous) if previous else inf
        current_reset = current_ttl % expiry if current else inf
        reset_in = min(previous_reset, current_reset)
        return allowed, Window(item.amount, remaining, now + (reset_in if reset_in != inf else 0.0))

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
        self.strategy: SlidingWindowCounterRateLimiter | None = None
        if redis_url:
            # Short timeouts so an unreachable Redis costs a request milliseconds, not seconds.
            self._pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=0.25, socket_timeout=0.25)
            storage = RedisStorage(
                _async_redis_uri(redis_url),
                implementation="redispy",
                connection_pool=self._pool,  # type: ignore[arg-type]  # documented option; the stub types only scalars
            )
            self.strategy = SlidingWindowCounterRateLimiter(storage)
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
                assert self.strategy is not None  # noqa: S101 — one or the other, from __init__
                allowed = await self.strategy.hit(item, policy.value, identity)
                stats = await self.strategy.get_window_stats(item, policy.value, identity)
                window = Window(limit=item.amount, remaining=stats.remaining, reset_at=stats.reset_time)
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

    async def reset(self) -> None:
        if self.memory is not None:
            self.memory.reset()
        elif self.strategy is not None:
            await self.strategy.storage.reset()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


def _async_redis_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
