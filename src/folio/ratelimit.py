"""Rate limits on the `limits` library: memory storage in one process, Redis when FOLIO_REDIS_URL is set.

Authenticated requests count against their API key or user; requests without valid credentials count
against the client address; login, registration and refresh have a stricter per-address policy.
If the storage fails the request is served (fail open), a warning is logged and a metric counts it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from enum import StrEnum

import structlog
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio import ConnectionPool

from folio.errors import RateLimitExceeded
from folio.observability import metrics
from folio.settings import RateLimitSettings

log = structlog.get_logger(__name__)


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


class RateLimiter:
    def __init__(self, settings: RateLimitSettings, redis_url: str | None) -> None:
        self.enabled = settings.enabled
        self._pool: ConnectionPool | None = None
        self.storage: Storage = MemoryStorage()
        if redis_url:
            # Short timeouts so an unreachable Redis costs a request milliseconds, not seconds.
            self._pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=0.25, socket_timeout=0.25)
            self.storage = RedisStorage(
                _async_redis_uri(redis_url),
                implementation="redispy",
                connection_pool=self._pool,  # type: ignore[arg-type]  # documented option; the stub types only scalars
            )
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
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
            allowed = await self.strategy.hit(item, policy.value, identity)
            stats = await self.strategy.get_window_stats(item, policy.value, identity)
            window = Window(limit=item.amount, remaining=stats.remaining, reset_at=stats.reset_time)
            if not allowed:
                retry_after = max(1, math.ceil(stats.reset_time - time.time()))
                raise RateLimitExceeded(
                    f"Rate limit of {item} exceeded.",
                    details={"limit": str(item), "retry_after": retry_after},
                    headers={**window.headers(), "Retry-After": str(retry_after)},
                )
            if tightest is None or window.remaining < tightest.remaining:
                tightest = window
        return tightest

    async def reset(self) -> None:
        await self.storage.reset()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


def _async_redis_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
