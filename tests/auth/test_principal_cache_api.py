"""The principal cache in the app: a cached request reads no database, and every change that alters a principal
(logout, a refresh token reused, a revoked key, a new role, a removed member, changed or deleted units, a renamed
organization, sessions ended for sign-in through a provider) holds from the next request, although the principal
was cached just before it. A principal refused once is not cached: a member who joins acts at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from folio.auth import service as auth_service
from folio.auth.sso.repository import SsoRepository
from tests.factories import Account, add_member, create_api_key, error_of, org_with, register
from tests.units.helpers import UNITS, change_role, create_unit, set_units

ME = "/api/v1/auth/me"


async def me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await client.get(ME, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def key_headers(key: dict[str, Any]) -> dict[str, str]:
    return {"X-API-Key": key["secret"]}


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the app runs meanwhile, and the connections it takes from its pool."""
    seen: list[str] = []

    def executed(*args: Any) -> None:
        seen.append(str(args[2]))

    def checked_out(*_: Any) -> None:
        seen.append("checkout")

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine.pool, "checkout", checked_out)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine.pool, "checkout", checked_out)


async def test_a_cached_request_reads_no_database(client: httpx.AsyncClient, app: FastAPI) -> None:
    account = await register(client)  # its /auth/me filled the cache
    key = await create_api_key(client, account)
    await me(client, key_headers(key))

    with statements(app) as seen:
        by_token = await me(client, account.headers)
        by_key = await me(client, key_headers(key))

    assert seen == []
    assert by_token["user"]["email"] == account.email
    assert by_token["org"]["id"] == str(account.org_id)
    assert by_key["api_key"]["id"] == key["id"]
    assert by_key["user"]["id"] == str(account.user_id)


async def test_logout(client: httpx.AsyncClient) -> None:
    account = await register(client)

    assert (await client.post("/api/v1/auth/logout", headers=account.headers)).status_code == 204

    error_of(await client.get(ME, headers=account.headers), 401, "AUTH_INVALID")


async def test_a_refresh_token_used_again_revokes_the_session(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await register(client)
    refreshed = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert refreshed.status_code == 200
    rotated = {"Authorization": f"Bearer {refreshed.json()['access_token']}"}
    await me(client, rotated)
    later = datetime.now(UTC) + timedelta(hours=1)  # past the grace window
    monkeypatch.setattr(auth_service, "now", lambda: later)

    reused = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})

    error_of(reused, 401, "AUTH_INVALID")
    error_of(await client.get(ME, headers=account.headers), 401, "AUTH_INVALID")
    error_of(await client.get(ME, headers=rotated), 401, "AUTH_INVALID")


async def test_a_revoked_key(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = await create_api_key(client, account)
    await me(client, key_headers(key))

    assert (await client.delete(f"/api/v1/api-keys/{key['id']}", headers=account.headers)).status_code == 204

    error_of(await client.get(ME, headers=key_headers(key)), 401, "AUTH_INVALID")


async def test_a_new_role_for_the_member_and_their_keys(client: httpx.AsyncClient) -> None:
    owner, (member,) = await org_with(client, "admin")
    in_org = member.in_org(owner.org_id)
    member_key = await _key_in(client, member, owner.org_id, ["admin", "search"])
    assert (await me(client, in_org))["role"] == "admin"
    assert "admin" in (await me(client, key_headers(member_key)))["scopes"]

    assert (await change_role(client, owner, member, "viewer")).status_code == 200

    assert (await me(client, in_org))["role"] == "viewer"
    downgraded = await me(client, key_headers(member_key))
    assert downgraded["role"] == "viewer"
    assert downgraded["scopes"] == ["search"]


async def test_a_removed_member_and_their_keys(client: httpx.AsyncClient) -> None:
    owner, (member,) = await org_with(client, "editor")
    member_key = await _key_in(client, member, owner.org_id, ["search"])
    await me(client, member.in_org(owner.org_id))
    await me(client, key_headers(member_key))

    removed = await client.delete(f"/api/v1/orgs/{owner.org_id}/members/{member.user_id}", headers=owner.headers)
    assert removed.status_code == 204, removed.text

    error_of(await client.get(ME, headers=member.in_org(owner.org_id)), 403, "ORG_ACCESS_DENIED")
    error_of(await client.get(ME, headers=key_headers(member_key)), 401, "AUTH_INVALID")


async def test_changed_units_and_a_promotion_that_lifts_them(client: httpx.AsyncClient) -> None:
    owner, (member,) = await org_with(client, "editor")
    unit = await create_unit(client, owner, "North")
    in_org = member.in_org(owner.org_id)
    assert (await me(client, in_org))["units"] is None

    await set_units(client, owner, member, unit["id"])
    assert (await me(client, in_org))["units"] == [unit["id"]]

    assert (await change_role(client, owner, member, "admin")).status_code == 200
    assert (await me(client, in_org))["units"] is None


async def test_a_deleted_unit_leaves_its_members_units(client: httpx.AsyncClient) -> None:
    owner, (member,) = await org_with(client, "editor")
    north, south = await create_unit(client, owner, "North"), await create_unit(client, owner, "South")
    await set_units(client, owner, member, north["id"], south["id"])
    in_org = member.in_org(owner.org_id)
    assert sorted((await me(client, in_org))["units"]) == sorted([north["id"], south["id"]])

    assert (await client.delete(f"{UNITS}/{north['id']}", headers=owner.headers)).status_code == 204

    assert (await me(client, in_org))["units"] == [south["id"]]


async def test_a_renamed_organization(client: httpx.AsyncClient) -> None:
    account = await register(client)

    renamed = await client.patch(f"/api/v1/orgs/{account.org_id}", json={"name": "Renamed"}, headers=account.headers)
    assert renamed.status_code == 200, renamed.text

    assert (await me(client, account.headers))["org"]["name"] == "Renamed"


async def test_sessions_ended_for_sign_in_through_a_provider(client: httpx.AsyncClient, app: FastAPI) -> None:
    """Both ways SSO ends sessions: a user's (joining an organization that requires it), an organization's
    members' (turning it on)."""
    owner, (member,) = await org_with(client, "editor")
    joining = await register(client)
    await me(client, member.in_org(owner.org_id))

    async with app.state.sessionmaker() as session, session.begin():
        repository = SsoRepository(session)
        assert await repository.revoke_user_sessions(joining.user_id, moment=datetime.now(UTC)) == 1
        assert await repository.revoke_member_sessions(owner.org_id, except_session=None, moment=datetime.now(UTC))

    error_of(await client.get(ME, headers=joining.headers), 401, "AUTH_INVALID")
    error_of(await client.get(ME, headers=member.in_org(owner.org_id)), 401, "AUTH_INVALID")
    assert (await me(client, owner.headers))["role"] == "owner"


async def test_a_refusal_is_not_cached(client: httpx.AsyncClient) -> None:
    owner, joining = await register(client), await register(client)
    error_of(await client.get(ME, headers=joining.in_org(owner.org_id)), 403, "ORG_ACCESS_DENIED")

    await add_member(client, owner, joining, "viewer")

    assert (await me(client, joining.in_org(owner.org_id)))["role"] == "viewer"


async def _key_in(client: httpx.AsyncClient, member: Account, org_id: UUID, scopes: list[str]) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/api-keys", json={"name": "member key", "scopes": scopes}, headers=member.in_org(org_id)
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
