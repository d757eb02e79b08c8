"""The principal cache on its own (`folio.auth.principal_cache`): reuse, lifetime, credential expiry, eviction,
invalidation in this process and through Redis, fills that race an invalidation, and a Redis that fails.

Two caches on one Redis stand for two API processes; each test uses tags of its own, so the keys it writes meet
no other test's."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from time import monotonic, time
from typing import Any
from uuid import UUID, uuid4

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from folio.auth import principal_cache
from folio.auth.identity import Identity, KeyCard, OrgCard, UserCard
from folio.auth.principal import Principal
from folio.auth.principal_cache import (
    PrincipalCache,
    key_tag,
    member_tag,
    org_tag,
    session_tag,
    tags_of,
    user_tag,
)
from folio.models import Role
from folio.settings import AuthSettings

REDIS_URL = os.environ.get("FOLIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"


@dataclass(frozen=True)
class Ids:
    org: UUID = field(default_factory=uuid4)
    user: UUID = field(default_factory=uuid4)
    session: UUID = field(default_factory=uuid4)
    key: UUID = field(default_factory=uuid4)


def member_identity(ids: Ids | None = None, *, expires_at: float | None = None) -> Identity:
    ids = ids or Ids()
    principal = Principal.for_member(org_id=ids.org, user_id=ids.user, role=Role.EDITOR, session_id=ids.session)
    user = UserCard(id=ids.user, email="a@example.com", name="A", created_at=datetime.now(UTC))
    return Identity(principal, OrgCard(id=ids.org, name="Org"), user, None, expires_at)


def key_identity(ids: Ids | None = None) -> Identity:
    ids = ids or Ids()
    org_id, user_id, key_id = ids.org, ids.user, ids.key
    principal = Principal(
        org_id=org_id, scopes=frozenset(), user_id=user_id, role=Role.VIEWER, api_key_id=key_id, units=None
    )
    return Identity(principal, OrgCard(id=org_id, name="Org"), None, KeyCard(id=key_id, name="k", prefix="p"), None)


class Database:
    """Stands for the database read: counts its reads; `during` runs in the middle of one (after the read)."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.reads = 0
        self.during: Callable[[], Awaitable[None]] | None = None

    async def load(self) -> Identity:
        self.reads += 1
        if self.during is not None:
            during, self.during = self.during, None
            await during()
        return self.identity


def cache(seconds: float = 60, entries: int = 100, redis_url: str | None = None) -> PrincipalCache:
    return PrincipalCache(AuthSettings(principal_cache_seconds=seconds, principal_cache_entries=entries), redis_url)


@pytest.fixture
async def shared() -> AsyncIterator[tuple[PrincipalCache, PrincipalCache]]:
    """Two caches on the test Redis: two API processes."""
    first, second = cache(redis_url=REDIS_URL), cache(redis_url=REDIS_URL)
    yield first, second
    await first.close()
    await second.close()


class Clock:
    """The cache's clocks, moved by the test instead of sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        monkeypatch.setattr(principal_cache, "monotonic", lambda: monotonic() + self.offset)
        monkeypatch.setattr(principal_cache, "unix_time", lambda: time() + self.offset)


KEY = b"credential"


# --- in one process ---------------------------------------------------------------------------------------------


async def test_a_principal_is_read_once_then_served_from_the_cache() -> None:
    principals, database = cache(), Database(member_identity())

    assert await principals.identity(KEY, database.load) is database.identity
    assert await principals.identity(KEY, database.load) is database.identity

    assert database.reads == 1


async def test_with_a_lifetime_of_zero_every_request_reads_the_database() -> None:
    principals, database = cache(seconds=0), Database(member_identity())

    for _ in range(3):
        await principals.identity(KEY, database.load)

    assert database.reads == 3
    assert len(principals) == 0


async def test_an_entry_is_read_again_once_its_lifetime_is_over(monkeypatch: pytest.MonkeyPatch) -> None:
    clock, principals, database = Clock(monkeypatch), cache(seconds=60), Database(member_identity())
    await principals.identity(KEY, database.load)

    clock.offset = 59
    await principals.identity(KEY, database.load)
    assert database.reads == 1
    clock.offset = 61
    await principals.identity(KEY, database.load)
    assert database.reads == 2


async def test_an_expired_credential_is_checked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database path then refuses it (AUTH_EXPIRED): a cached token or key never outlives its expiry."""
    clock = Clock(monkeypatch)
    principals, database = cache(seconds=3600), Database(member_identity(expires_at=time() + 30))
    await principals.identity(KEY, database.load)

    clock.offset = 31
    await principals.identity(KEY, database.load)

    assert database.reads == 2


async def test_the_least_recently_used_entry_goes_first() -> None:
    principals = cache(entries=2)
    first, second, third = (Database(member_identity()) for _ in range(3))
    await principals.identity(b"first", first.load)
    await principals.identity(b"second", second.load)
    await principals.identity(b"first", first.load)  # used again: now the second is the least recent

    await principals.identity(b"third", third.load)
    await principals.identity(b"first", first.load)
    await principals.identity(b"second", second.load)

    assert (first.reads, second.reads, third.reads) == (1, 2, 1)
    assert len(principals) == 2


async def test_an_entry_dropped_while_a_hit_is_checked_is_still_served_once(
    shared: tuple[PrincipalCache, PrincipalCache],
) -> None:
    # Found by bench/scaleout.py: a 500 (KeyError) when another request dropped the entry during the Redis check.
    principals, database = shared[0], Database(member_identity())
    await principals.identity(KEY, database.load)
    checked = principals._holds

    async def holds_while_another_request_drops_it(entry: Any) -> bool:
        principals.clear()
        return await checked(entry)

    principals._holds = holds_while_another_request_drops_it  # type: ignore[method-assign]

    assert await principals.identity(KEY, database.load) is database.identity
    assert (database.reads, len(principals)) == (1, 0)


@pytest.mark.parametrize("kind", ["session", "user", "member", "org"])
async def test_invalidating_a_members_tag_drops_their_entry(kind: str) -> None:
    ids = Ids()
    principals, database = cache(), Database(member_identity(ids))
    other = Database(member_identity())
    await principals.identity(KEY, database.load)
    await principals.identity(b"other", other.load)
    tag = {
        "session": session_tag(ids.session),
        "user": user_tag(ids.user),
        "member": member_tag(ids.org, ids.user),
        "org": org_tag(ids.org),
    }[kind]

    await principals.invalidated([tag])
    await principals.identity(KEY, database.load)
    await principals.identity(b"other", other.load)

    assert database.reads == 2
    assert other.reads == 1


@pytest.mark.parametrize("kind", ["key", "creator", "membership"])
async def test_invalidating_a_keys_tag_drops_its_entry(kind: str) -> None:
    ids = Ids()
    principals, database = cache(), Database(key_identity(ids))
    await principals.identity(KEY, database.load)
    tag = {"key": key_tag(ids.key), "creator": user_tag(ids.user), "membership": member_tag(ids.org, ids.user)}[kind]

    await principals.invalidated([tag])
    await principals.identity(KEY, database.load)

    assert database.reads == 2


async def test_a_read_that_an_invalidation_overtakes_is_served_but_not_kept() -> None:
    """The change committed after the read and invalidated before the entry was stored: storing it would keep
    the old principal."""
    principals, database = cache(), Database(member_identity())
    database.during = lambda: principals.invalidated(tags_of(database.identity.principal))

    await principals.identity(KEY, database.load)
    await principals.identity(KEY, database.load)

    assert database.reads == 2


async def test_invalidations_are_forgotten_once_no_entry_can_predate_them(monkeypatch: pytest.MonkeyPatch) -> None:
    clock, principals = Clock(monkeypatch), cache(seconds=60)
    await principals.invalidated([user_tag(uuid4()), user_tag(uuid4())])
    assert len(principals._invalidated) == 2

    clock.offset = 62
    await principals.invalidated([user_tag(uuid4())])

    assert len(principals._invalidated) == 1


# --- across processes, through Redis ----------------------------------------------------------------------------


async def test_an_invalidation_in_one_process_drops_the_entry_in_another(
    shared: tuple[PrincipalCache, PrincipalCache],
) -> None:
    a, b = shared
    ids = Ids()
    database = Database(member_identity(ids))
    await a.identity(KEY, database.load)
    await b.identity(KEY, database.load)
    await b.identity(KEY, database.load)
    assert database.reads == 2

    await a.invalidated([session_tag(ids.session)])
    await b.identity(KEY, database.load)

    assert database.reads == 3


async def test_every_hit_checks_the_versions_in_redis(shared: tuple[PrincipalCache, PrincipalCache]) -> None:
    """As a Redis restart does, a version gone from Redis (deleted, expired, lost) drops the entries recording it."""
    _, b = shared
    database = Database(member_identity())
    await b.identity(KEY, database.load)
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.delete(org_tag(database.identity.principal.org_id))
    finally:
        await redis.aclose()

    await b.identity(KEY, database.load)

    assert database.reads == 2


async def test_a_read_overtaken_by_an_invalidation_elsewhere_is_not_kept(
    shared: tuple[PrincipalCache, PrincipalCache],
) -> None:
    """Another process committed and invalidated between this read and the versions it would record (made then,
    after the deletion): only the generation tells."""
    a, b = shared
    database = Database(member_identity())
    database.during = lambda: a.invalidated(tags_of(database.identity.principal))

    await b.identity(KEY, database.load)
    await b.identity(KEY, database.load)

    assert database.reads == 2


async def test_without_redis_every_request_reads_the_database() -> None:
    principals, database = cache(redis_url=UNREACHABLE_REDIS_URL), Database(member_identity())
    try:
        for _ in range(3):
            assert await principals.identity(KEY, database.load) is database.identity
    finally:
        await principals.close()

    assert database.reads == 3
    assert len(principals) == 0


async def test_when_redis_fails_a_cached_entry_is_not_served(
    shared: tuple[PrincipalCache, PrincipalCache], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, b = shared
    database = Database(member_identity())
    await b.identity(KEY, database.load)
    assert b.redis is not None

    async def unreachable(*_: Any) -> Any:
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(b.redis, "mget", unreachable)
    await b.identity(KEY, database.load)

    assert database.reads == 2


async def test_an_invalidation_waits_for_redis_to_take_it(
    shared: tuple[PrincipalCache, PrincipalCache], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = shared
    database = Database(member_identity())
    await b.identity(KEY, database.load)
    assert a.redis is not None
    pipeline, failures = a.redis.pipeline, [RedisConnectionError("down"), RedisConnectionError("still down")]

    def failing_pipeline(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return pipeline(*args, **kwargs)

    monkeypatch.setattr(a.redis, "pipeline", failing_pipeline)
    await a.invalidated(tags_of(database.identity.principal))

    assert failures == []
    await b.identity(KEY, database.load)
    assert database.reads == 2


async def test_an_invalidation_redis_never_takes_returns_once_every_entry_has_expired(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Then no process can still hold an entry that predates the change."""
    clock = Clock(monkeypatch)
    principals = cache(seconds=60, redis_url=UNREACHABLE_REDIS_URL)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.offset += seconds

    monkeypatch.setattr(principal_cache, "sleep", sleep)
    try:
        await principals.invalidated([user_tag(uuid4())])
    finally:
        await principals.close()

    assert sum(slept) == pytest.approx(61, abs=0.5)


def test_tags_of_a_principal() -> None:
    ids = Ids()
    operator_key = Principal(org_id=ids.org, scopes=frozenset(), api_key_id=ids.key)

    assert set(tags_of(member_identity(ids).principal)) == {
        org_tag(ids.org),
        user_tag(ids.user),
        member_tag(ids.org, ids.user),
        session_tag(ids.session),
    }
    assert set(tags_of(key_identity(ids).principal)) == {
        org_tag(ids.org),
        user_tag(ids.user),
        member_tag(ids.org, ids.user),
        key_tag(ids.key),
    }
    assert set(tags_of(operator_key)) == {org_tag(ids.org), key_tag(ids.key)}


def test_tags_name_their_ids() -> None:
    some = UUID(int=1)
    assert session_tag(some) != key_tag(some) != user_tag(some) != org_tag(some)
    assert member_tag(some, UUID(int=2)) != member_tag(UUID(int=2), some)
