"""Authenticated principals reused for `auth.principal_cache_seconds`, so that most requests read no database to
know who is calling; and their invalidation, which is exact: a request that begins after a revocation's response
never gets the old principal, in any process.

Every cached identity depends on a few *tags*: its login session or API key, its user, the user's membership in
the organization, the organization. A change that alters a principal (logout, a revoked key or session, a new
role, a removed member, changed units, a deleted unit, a renamed organization) names the tags it touches with
`invalidate(session, *tags)`; once its transaction commits, and before its response is sent:

- in this process, no entry whose fill began before then is served again (a sequence number per invalidation,
  compared with the one an entry's fill began at: so neither is one whose fill read the database before the commit
  and was stored after it);
- with Redis (scale-out), each tag has a version there: a random token made when a fill first needs it. An entry
  records its tags' versions, and every hit reads them again (one MGET, the only I/O of a hit); the change deletes
  them. A fill reads the versions after its database read, so a change committed after that read either deletes
  the versions the fill then records, or happened between the read and the versions, which the *generation* (a
  random token the change replaces in the same MULTI as its deletion, read by the fill before its database read
  and again with the versions) reveals: that fill is served but not stored. A Redis restart loses the versions,
  which entries then no longer match; a fill never records a missing one.
- If Redis cannot be told (it is down), the change's response waits, trying again, until it can, or until every
  entry filled before the commit has expired everywhere (`principal_cache_seconds`, plus a margin).

A process that cannot reach Redis serves from the database (and fills nothing) until it can: never stale.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from time import monotonic
from time import time as unix_time
from typing import TypeVar
from uuid import UUID

import structlog
from anyio import sleep
from redis.asyncio import Redis
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from folio.auth.identity import Identity
from folio.auth.principal import Principal
from folio.effects import SyncSession, after_commit, outlet
from folio.observability.metrics import PRINCIPAL_CACHE_LOOKUPS
from folio.settings import AuthSettings

log = structlog.get_logger(__name__)

T = TypeVar("T")

# The outlet (`folio.effects`) under which an API process registers its cache, for invalidations after commit.
PRINCIPAL_CACHE = "folio.principal_cache"

_PREFIX = "folio:auth:"
GENERATION = _PREFIX + "generation"
# The tags a transaction invalidates, in its session's `info` until it commits or rolls back.
_PENDING = "folio.principal_cache.pending"
# After a failed call, Redis is left alone (and the database read instead) for this long.
_REDIS_PAUSE_SECONDS = 1.0
_REDIS_TIMEOUT_SECONDS = 0.25
_HIT, _MISS, _UNCACHED = (PRINCIPAL_CACHE_LOOKUPS.labels(result) for result in ("hit", "miss", "uncached"))
# What separates two processes' clocks' idea of `principal_cache_seconds`, and a fill's start from its clock read.
_WAIT_MARGIN_SECONDS = 1.0


def session_tag(session_id: UUID) -> str:
    return f"{_PREFIX}session:{session_id}"


def key_tag(key_id: UUID) -> str:
    return f"{_PREFIX}key:{key_id}"


def user_tag(user_id: UUID) -> str:
    return f"{_PREFIX}user:{user_id}"


def member_tag(org_id: UUID, user_id: UUID) -> str:
    return f"{_PREFIX}member:{org_id}:{user_id}"


def org_tag(org_id: UUID) -> str:
    return f"{_PREFIX}org:{org_id}"


def tags_of(principal: Principal) -> tuple[str, ...]:
    tags = [org_tag(principal.org_id)]
    if principal.user_id is not None:
        tags += [user_tag(principal.user_id), member_tag(principal.org_id, principal.user_id)]
    if principal.session_id is not None:
        tags.append(session_tag(principal.session_id))
    if principal.api_key_id is not None:
        tags.append(key_tag(principal.api_key_id))
    return tuple(tags)


def invalidate(session: AsyncSession, *tags: str) -> None:
    """Drop the cached principals that depend on `tags` once the session's transaction commits, before the
    request's response (one invalidation per transaction, whatever its number of calls). Nothing to do in a
    process without a cache (a CLI command)."""
    cache: PrincipalCache | None = outlet(session, PRINCIPAL_CACHE)
    if cache is None or not tags:
        return
    pending: set[str] | None = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = set()
        tags_of_transaction = pending

        async def invalidated() -> None:
            await cache.invalidated(tags_of_transaction)

        after_commit(session, invalidated)
    pending.update(tags)


@event.listens_for(SyncSession, "after_commit")
@event.listens_for(SyncSession, "after_rollback")
def _settled(session: Session) -> None:
    """The next transaction of the session collects its own tags (its effect was queued, or dropped with it)."""
    session.info.pop(_PENDING, None)


@dataclass(slots=True)
class _Entry:
    identity: Identity
    tags: tuple[str, ...]
    versions: list[bytes | None] | None  # the tags' versions in Redis; None without Redis
    began: int  # the invalidation sequence number when its fill began
    until: float  # monotonic: when the entry's lifetime ends


class PrincipalCache:
    """Least recently used identities by credential (a digest of it and the organization asked for)."""

    def __init__(self, settings: AuthSettings, redis_url: str | None) -> None:
        self.seconds = settings.principal_cache_seconds
        self.size = settings.principal_cache_entries
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        # A sequence number per invalidation, the last one of each tag, and the order to forget them in: an
        # invalidation older than the lifetime concerns no entry any more.
        self._sequence = 0
        self._invalidated: dict[str, int] = {}
        self._history: deque[tuple[float, str, int]] = deque()
        self.redis: Redis | None = None
        if redis_url:
            self.redis = Redis.from_url(
                redis_url, socket_timeout=_REDIS_TIMEOUT_SECONDS, socket_connect_timeout=_REDIS_TIMEOUT_SECONDS
            )
        self._redis_paused_until = 0.0

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()

    async def identity(self, key: bytes, load: Callable[[], Awaitable[Identity]]) -> Identity:
        """The cached identity for `key` while it holds, else `load()` (the database), stored when it may be."""
        if not self.enabled:
            _UNCACHED.inc()
            return await load()
        entry = self._entries.get(key)
        if entry is not None:
            if await self._holds(entry):
                # While `_holds` asked Redis, another request may have dropped or replaced the entry.
                if self._entries.get(key) is entry:
                    self._entries.move_to_end(key)
                _HIT.inc()
                return entry.identity
            if self._entries.get(key) is entry:
                del self._entries[key]
        return await self._fill(key, load)

    async def invalidated(self, tags: Collection[str]) -> None:
        """After a commit that changed what `tags` stand for: no entry filled before it is served again here, at
        once, nor in any process once this returns."""
        self._sequence += 1
        now = monotonic()
        for tag in tags:
            self._invalidated[tag] = self._sequence
            self._history.append((now, tag, self._sequence))
        self._forget(now)
        if self.redis is not None:
            await self._publish(tags, deadline=now + self.seconds + _WAIT_MARGIN_SECONDS)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    async def _holds(self, entry: _Entry) -> bool:
        if entry.until <= monotonic():
            return False
        expires_at = entry.identity.expires_at
        if expires_at is not None and expires_at <= unix_time():
            return False
        if self._invalidated_since(entry.tags, entry.began):
            return False
        if entry.versions is None:
            return True
        versions = await self._redis_call(lambda redis: redis.mget(entry.tags))
        return versions == entry.versions

    async def _fill(self, key: bytes, load: Callable[[], Awaitable[Identity]]) -> Identity:
        began, started = self._sequence, monotonic()
        generation: bytes | None = None
        if self.redis is not None:
            generation = await self._redis_call(_generation)
            if generation is None:
                _UNCACHED.inc()
                return await load()
        identity = await load()
        tags = tags_of(identity.principal)
        versions: list[bytes | None] | None = None
        if generation is not None:
            found = await self._redis_call(lambda redis: _versions(redis, tags, self.seconds))
            if found is None or found[-1] != generation:
                _UNCACHED.inc()
                return identity
            versions = found[:-1]
        _MISS.inc()
        self._entries[key] = _Entry(identity, tags, versions, began, until=started + self.seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return identity

    async def _redis_call(self, call: Callable[[Redis], Awaitable[T]]) -> T | None:
        """`call(redis)`, or None when Redis failed (now or a moment ago): the caller reads the database."""
        assert self.redis is not None  # noqa: S101 — only called with Redis
        if monotonic() < self._redis_paused_until:
            return None
        try:
            return await call(self.redis)
        except Exception as exc:  # redis-py's errors are many (connection, timeout, protocol, OSError)
            self._redis_paused_until = monotonic() + _REDIS_PAUSE_SECONDS
            log.warning("principal_cache_redis_unavailable", error=repr(exc))
            return None

    async def _publish(self, tags: Collection[str], *, deadline: float) -> None:
        """Delete the tags' versions and replace the generation, trying again until Redis takes it or until every
        entry that could be stale has expired everywhere."""
        assert self.redis is not None  # noqa: S101 — only called with Redis
        delay = 0.05
        while True:
            try:
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.delete(*tags)
                    pipe.set(GENERATION, secrets.token_hex(16))
                    await pipe.execute()
                return
            except Exception as exc:  # as in _redis_call
                remaining = deadline - monotonic()
                if remaining <= 0:
                    log.warning("principal_invalidation_waited_out", tags=list(tags), error=repr(exc))
                    return
                log.warning("principal_invalidation_retrying", error=repr(exc))
                await sleep(min(delay, remaining))
                delay = min(delay * 2, 1.0)

    def _invalidated_since(self, tags: Sequence[str], sequence: int) -> bool:
        invalidated = self._invalidated
        return bool(invalidated) and any(invalidated.get(tag, 0) > sequence for tag in tags)

    def _forget(self, now: float) -> None:
        while self._history and self._history[0][0] <= now - self.seconds - _WAIT_MARGIN_SECONDS:
            _, tag, sequence = self._history.popleft()
            if self._invalidated.get(tag) == sequence:
                del self._invalidated[tag]


async def _generation(redis: Redis) -> bytes | None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(GENERATION, secrets.token_hex(16), nx=True)
        pipe.get(GENERATION)
        _, generation = await pipe.execute()
    return generation if isinstance(generation, bytes) else None


async def _versions(redis: Redis, tags: Sequence[str], seconds: float) -> list[bytes | None]:
    """The tags' versions, each made if missing (so none is), and the generation last: one MULTI. Versions outlive
    the entries that record them; one that expires only costs those entries a database read."""
    lifetime_ms = int((2 * seconds + 60) * 1000)
    async with redis.pipeline(transaction=True) as pipe:
        for tag in tags:
            pipe.set(tag, secrets.token_hex(16), nx=True, px=lifetime_ms)
            pipe.pexpire(tag, lifetime_ms)
        pipe.mget([*tags, GENERATION])
        *_, found = await pipe.execute()
    return list(found)
