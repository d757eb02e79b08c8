"""The principal cache scaled out, as real processes: two `folio serve` (A and B) on one PostgreSQL and one Redis,
each with its cache. A request that begins after the response of a change (a logout, a revoked key, a new role, a
removed member, changed units) is answered as the database says, whichever process serves either; also while Redis
is down, and once it is back empty.

The Redis is a `redis-server` of this module's own (stopped and started again by a test), the PostgreSQL an embedded
server of its own. Principals live `LIFETIME` seconds, longer than any example here takes.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import Account, register
from tests.processes import RedisServer, backing, folio_process, free_port, until_answering

REDIS_SERVER = shutil.which("redis-server")
LIFETIME = 3
ME = "/api/v1/auth/me"
ROLES = ("viewer", "editor", "admin")

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed: this module starts and stops a Redis of its own"
)


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """The module's processes use a database of their own, left to them until the module ends."""


@dataclass
class World:
    a: httpx.AsyncClient
    b: httpx.AsyncClient
    redis: RedisServer
    owner: Account
    units: list[str]

    def via(self, name: str) -> httpx.AsyncClient:
        return self.a if name == "a" else self.b


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    """Redis, PostgreSQL (migrated), APIs A and B; an owner with two business units."""
    async with AsyncExitStack() as stack:
        services = await stack.enter_async_context(backing("folio-cache-"))
        root, redis = services.root, services.redis
        environment = services.settings(
            FOLIO_AUTH__PRINCIPAL_CACHE_SECONDS=str(LIFETIME),
            FOLIO_RATE_LIMIT__AUTH="100000/minute",
            FOLIO_RATE_LIMIT__USER="100000/minute",
            FOLIO_RATE_LIMIT__API_KEY="100000/minute",
            # Revoked credentials count as anonymous requests: the checks send many.
            FOLIO_RATE_LIMIT__ANONYMOUS="100000/minute",
            FOLIO_LOG__LEVEL="WARNING",
        )
        urls = []
        for name in ("a", "b"):
            port, log = free_port(), root / f"{name}.log"
            process = await stack.enter_async_context(
                folio_process("serve", "--port", str(port), data_dir=root / "data", settings=environment, log=log)
            )
            urls.append((f"http://127.0.0.1:{port}", process, log))
        await asyncio.gather(*(until_answering(f"{url}/health/ready", process, log) for url, process, log in urls))
        a = await stack.enter_async_context(httpx.AsyncClient(base_url=urls[0][0], timeout=30))
        b = await stack.enter_async_context(httpx.AsyncClient(base_url=urls[1][0], timeout=30))
        owner = await register(a)
        units = []
        for name in ("North", "South"):
            created = await a.post("/api/v1/units", json={"name": name}, headers=owner.headers)
            assert created.status_code == 201, created.text
            units.append(created.json()["id"])
        yield World(a, b, redis, owner, units)


@dataclass
class Member:
    """A member of the owner's organization as the database has it: what every answer must say."""

    account: Account
    token: str
    key: dict[str, Any]
    member: bool = True
    role: str = "editor"
    units: set[str] = field(default_factory=set)
    dead: list[dict[str, str]] = field(default_factory=list)  # credentials revoked since

    def by_token(self, world: World) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Org-Id": str(world.owner.org_id)}

    def by_key(self) -> dict[str, str]:
        return {"X-API-Key": self.key["secret"]}


async def join(world: World, client: httpx.AsyncClient, account: Account, token: str, role: str) -> None:
    owner = world.owner
    invited = await client.post(
        f"/api/v1/orgs/{owner.org_id}/invitations", json={"email": account.email, "role": role}, headers=owner.headers
    )
    assert invited.status_code == 202, invited.text
    accept = f"/api/v1/invitations/{invited.json()['id']}/accept"
    accepted = await client.post(accept, headers={"Authorization": f"Bearer {token}"})
    assert accepted.status_code == 200, accepted.text


async def new_key(world: World, client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "X-Org-Id": str(world.owner.org_id)}
    created = await client.post("/api/v1/api-keys", json={"name": "k", "scopes": ["search"]}, headers=headers)
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


async def new_member(world: World) -> Member:
    account = await register(world.a)
    await join(world, world.a, account, account.access_token, "editor")
    return Member(account, account.access_token, await new_key(world, world.a, account.access_token))


async def check(world: World, member: Member, via: str) -> None:
    """/auth/me by the member's token, their key and a credential revoked since, as the database says."""
    client = world.via(via)
    by_token = await client.get(ME, headers=member.by_token(world))
    if member.member:
        assert by_token.status_code == 200, (via, by_token.text)
        assert by_token.json()["role"] == member.role, via
        assert set(by_token.json()["units"] or []) == member.units, via
        by_key = await client.get(ME, headers=member.by_key())
        assert by_key.status_code == 200, (via, by_key.text)
        assert by_key.json()["role"] == member.role, via
    else:
        assert by_token.status_code == 403, (via, by_token.text)
        assert (await client.get(ME, headers=member.by_key())).status_code == 401, via
    for headers in member.dead[-2:]:
        assert (await client.get(ME, headers=headers)).status_code == 401, (via, headers)


async def apply(world: World, member: Member, change: str, via: str, role: str, units: set[str]) -> None:
    """One change through process `via`, and the model updated to what the database now says."""
    client, owner = world.via(via), world.owner
    path = f"/api/v1/orgs/{owner.org_id}/members/{member.account.user_id}"
    if change == "role" and member.member:
        assert (await client.patch(path, json={"role": role}, headers=owner.headers)).status_code == 200
        member.role = role
        if role == "admin":
            member.units = set()
    elif change == "units" and member.member and member.role != "admin":
        put = await client.put(
            f"/api/v1/members/{member.account.user_id}/units", json={"unit_ids": sorted(units)}, headers=owner.headers
        )
        assert put.status_code == 200, put.text
        member.units = set(units)
    elif change == "remove" and member.member:
        assert (await client.delete(path, headers=owner.headers)).status_code == 204
        member.member, member.units = False, set()
        member.dead.append(member.by_key())  # a removed member's keys are revoked
    elif change == "rejoin" and not member.member:
        await join(world, client, member.account, member.token, "viewer")
        member.member, member.role = True, "viewer"
        member.key = await new_key(world, client, member.token)
    elif change == "logout":
        ended = await client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {member.token}"})
        assert ended.status_code == 204, ended.text
        member.dead.append(member.by_token(world))
        login = {"email": member.account.email, "password": member.account.password}
        logged_in = await client.post("/api/v1/auth/login", json=login)
        assert logged_in.status_code == 200, logged_in.text
        member.token = logged_in.json()["access_token"]
    elif change == "revoke_key" and member.member:
        revoked = await client.delete(f"/api/v1/api-keys/{member.key['id']}", headers=owner.headers)
        assert revoked.status_code == 204, revoked.text
        member.dead.append(member.by_key())
        member.key = await new_key(world, client, member.token)


async def hits(client: httpx.AsyncClient) -> float:
    scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    for family in text_string_to_metric_families(scraped.text):
        for sample in family.samples:
            if sample.name == "folio_principal_cache_lookups_total" and sample.labels == {"result": "hit"}:
                return sample.value
    return 0.0


async def test_each_process_serves_principals_from_its_cache(world: World) -> None:
    member = await new_member(world)
    before = (await hits(world.a), await hits(world.b))

    for _ in range(2):
        await check(world, member, "a")
        await check(world, member, "b")

    assert await hits(world.a) >= before[0] + 2
    assert await hits(world.b) >= before[1] + 2


async def test_a_change_through_one_process_holds_at_once_in_the_other(world: World) -> None:
    member = await new_member(world)
    await check(world, member, "b")

    await apply(world, member, "role", "a", "viewer", set())
    await check(world, member, "b")
    await apply(world, member, "units", "b", "", {world.units[0]})
    await check(world, member, "a")
    await apply(world, member, "logout", "a", "", set())
    await apply(world, member, "revoke_key", "a", "", set())
    await check(world, member, "b")
    await apply(world, member, "remove", "b", "", set())
    await check(world, member, "a")


CHANGES = ("role", "units", "remove", "rejoin", "logout", "revoke_key")
Step = tuple[str, str, str, str, frozenset[int]]
steps = st.lists(
    st.tuples(
        st.sampled_from(("check", *CHANGES)),
        st.sampled_from(("a", "b")),
        st.sampled_from(("a", "b")),
        st.sampled_from(ROLES),
        st.frozensets(st.sampled_from((0, 1))),
    ),
    min_size=3,
    max_size=12,
)


# No shrinking: every step is a round of HTTP requests to two processes, and the failing step names itself.
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(steps=steps)
async def test_no_process_ever_answers_with_a_principal_changed_before_the_request(
    world: World, steps: list[Step]
) -> None:
    """Changes and requests interleaved over both processes: every principal is the one the database holds when
    the request begins, never one cached before a change whose response came back already."""
    member = await new_member(world)
    await check(world, member, "a")
    await check(world, member, "b")
    for action, via, then, role, units in steps:
        if action != "check":
            await apply(world, member, action, via, role, {world.units[index] for index in units})
        await check(world, member, then)


async def test_with_redis_down_every_answer_comes_from_the_database(world: World) -> None:
    """A process that cannot check an entry's versions reads the database. A change made while Redis is down
    answers once no process can hold the old principal (the lifetime); Redis back, empty, holds no version an entry
    recorded."""
    member = await new_member(world)
    await check(world, member, "b")
    await apply(world, member, "role", "a", "viewer", set())  # B's entry is stale now, its versions deleted
    await world.redis.stop()
    try:
        await check(world, member, "b")
        await check(world, member, "a")
        await apply(world, member, "role", "a", "editor", set())
        await check(world, member, "b")
    finally:
        await world.redis.start()
    await check(world, member, "a")
    await check(world, member, "b")
    await apply(world, member, "units", "b", "", {world.units[1]})
    await check(world, member, "a")
