"""/api/v1/members/{user_id}/units and /api/v1/units/{id}/members: who may limit whom to which units."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import uuid4

import httpx
import pytest

from folio.units.service import MAX_UNITS_PER_ORG
from tests.factories import Account, add_member, create_api_key, error_of, register
from tests.units.helpers import (
    UNITS,
    change_role,
    create_unit,
    member_units_path,
    put_units,
    set_units,
    unit_ids_of,
)


@dataclass
class Org:
    """An owner's organization with units A, B, C, a manager limited to A and B, and members of each role."""

    owner: Account
    admin: Account
    manager: Account  # bu_manager limited to A and B
    wide_manager: Account  # bu_manager limited to no unit
    supervisor: Account
    editor: Account
    viewer: Account
    a: str
    b: str
    c: str

    def headers(self, account: Account) -> dict[str, str]:
        return account.in_org(self.owner.org_id)


@pytest.fixture
async def org(client: httpx.AsyncClient) -> Org:
    owner, admin, manager, wide, supervisor, editor, viewer = [await register(client) for _ in range(7)]
    roles = [(admin, "admin"), (manager, "bu_manager"), (wide, "bu_manager"), (supervisor, "supervisor")]
    for member, role in [*roles, (editor, "editor"), (viewer, "viewer")]:
        await add_member(client, owner, member, role)
    a, b, c = [(await create_unit(client, owner, name))["id"] for name in ("A", "B", "C")]
    await set_units(client, owner, manager, a, b)
    return Org(owner, admin, manager, wide, supervisor, editor, viewer, a, b, c)


async def test_the_role_endpoint_grants_the_manager_and_supervisor_roles(client: httpx.AsyncClient, org: Org) -> None:
    for role in ("supervisor", "bu_manager", "editor"):
        changed = await change_role(client, org.owner, org.viewer, role)
        assert changed.status_code == 200, changed.text
        assert changed.json()["role"] == role
        mine = await client.get(member_units_path(org.viewer.user_id), headers=org.headers(org.viewer))
        assert mine.json()["role"] == role


@pytest.mark.parametrize("role", ["viewer", "editor", "supervisor"])
async def test_members_below_managers_change_nobodys_units(client: httpx.AsyncClient, org: Org, role: str) -> None:
    actor = {"viewer": org.viewer, "editor": org.editor, "supervisor": org.supervisor}[role]
    for member in (org.viewer, org.editor, actor):
        error_of(await put_units(client, org.headers(actor), member, org.a), 403, "FORBIDDEN")
    error_of(await client.get(f"{UNITS}/{org.a}/members", headers=org.headers(actor)), 403, "FORBIDDEN")
    other = org.editor if actor is not org.editor else org.viewer
    error_of(await client.get(member_units_path(other.user_id), headers=org.headers(actor)), 403, "FORBIDDEN")
    assert await unit_ids_of(client, org.owner, org.editor) == set()


async def test_admins_limit_anyone_but_owners_and_admins(client: httpx.AsyncClient, org: Org) -> None:
    for member in (org.viewer, org.editor, org.supervisor, org.wide_manager):
        assert (await put_units(client, org.headers(org.admin), member, org.a, org.c)).status_code == 200
        assert await unit_ids_of(client, org.headers(org.admin), member) == {org.a, org.c}
    for member in (org.owner, org.admin):
        refused = await put_units(client, org.headers(org.admin), member, org.a)
        assert error_of(refused, 422, "ROLE_NOT_RESTRICTABLE")["details"] == {
            "role": "owner" if member is org.owner else "admin"
        }
        assert (await put_units(client, org.headers(org.admin), member)).status_code == 200  # no limit: allowed
    key = await create_api_key(client, org.owner, scopes=["admin"])
    by_key = await put_units(client, {"X-API-Key": key["secret"]}, org.viewer)
    assert by_key.json()["restricted"] is False


async def test_promotion_to_admin_lifts_a_members_limit(client: httpx.AsyncClient, org: Org) -> None:
    await set_units(client, org.owner, org.editor, org.a)

    assert (await change_role(client, org.owner, org.editor, "admin")).status_code == 200

    assert await unit_ids_of(client, org.owner, org.editor) == set()
    me = await client.get("/api/v1/auth/me", headers=org.headers(org.editor))
    assert me.json()["units"] is None


async def test_a_manager_limited_to_units_adds_and_removes_only_those(client: httpx.AsyncClient, org: Org) -> None:
    manager = org.headers(org.manager)
    await set_units(client, org.owner, org.editor, org.a)
    await set_units(client, org.owner, org.viewer, org.c)

    assert (await put_units(client, manager, org.editor, org.a, org.b)).status_code == 200
    assert (await put_units(client, manager, org.editor, org.b)).status_code == 200
    outside = error_of(await put_units(client, manager, org.editor, org.b, org.c), 403, "FORBIDDEN")
    assert outside["details"] == {"unit_ids": [org.c]}
    assert (await put_units(client, manager, org.viewer, org.c, org.a)).status_code == 200  # C stays as it was
    error_of(await put_units(client, manager, org.viewer, org.a), 403, "FORBIDDEN")  # would take C away

    assert await unit_ids_of(client, org.owner, org.editor) == {org.b}
    assert await unit_ids_of(client, org.owner, org.viewer) == {org.a, org.c}


async def test_a_manager_limited_to_units_neither_limits_nor_frees_a_member(
    client: httpx.AsyncClient, org: Org
) -> None:
    manager = org.headers(org.manager)
    error_of(await put_units(client, manager, org.editor, org.a), 403, "FORBIDDEN")  # sees every unit
    await set_units(client, org.owner, org.viewer, org.a)
    error_of(await put_units(client, manager, org.viewer), 403, "FORBIDDEN")  # would see every unit

    assert await unit_ids_of(client, org.owner, org.editor) == set()
    assert await unit_ids_of(client, org.owner, org.viewer) == {org.a}


async def test_a_manager_of_every_unit_limits_and_frees_members_below_them(client: httpx.AsyncClient, org: Org) -> None:
    wide = org.headers(org.wide_manager)
    assert (await put_units(client, wide, org.editor, org.c)).status_code == 200
    assert (await put_units(client, wide, org.supervisor, org.a)).status_code == 200
    assert await unit_ids_of(client, org.headers(org.wide_manager), org.editor) == {org.c}
    assert (await put_units(client, wide, org.editor)).status_code == 200
    assert await unit_ids_of(client, org.headers(org.wide_manager), org.editor) == set()
    for listed in (org.a, org.c):
        assert (await client.get(f"{UNITS}/{listed}/members", headers=wide)).status_code == 200


async def test_managers_manage_only_members_ranked_below_them(client: httpx.AsyncClient, org: Org) -> None:
    for manager in (org.manager, org.wide_manager):
        headers = org.headers(manager)
        for member in (org.owner, org.admin, org.manager, org.wide_manager):
            error_of(await put_units(client, headers, member, org.a), 403, "FORBIDDEN")
            error_of(await put_units(client, headers, member), 403, "FORBIDDEN")
        for member in (org.owner, org.admin, org.wide_manager if manager is org.manager else org.manager):
            error_of(await client.get(member_units_path(member.user_id), headers=headers), 403, "FORBIDDEN")
        assert (await client.get(member_units_path(manager.user_id), headers=headers)).status_code == 200
    assert await unit_ids_of(client, org.owner, org.manager) == {org.a, org.b}
    assert await unit_ids_of(client, org.owner, org.wide_manager) == set()


async def test_a_managers_api_key_does_not_manage_members(client: httpx.AsyncClient, org: Org) -> None:
    made = await client.post(
        "/api/v1/api-keys",
        json={"name": "manager's key", "scopes": ["documents:read"]},
        headers=org.headers(org.wide_manager),
    )
    headers = {"X-API-Key": made.json()["secret"]}
    error_of(await put_units(client, headers, org.editor, org.a), 403, "FORBIDDEN")
    error_of(await client.get(f"{UNITS}/{org.a}/members", headers=headers), 403, "FORBIDDEN")
    assert (await client.get(member_units_path(org.wide_manager.user_id), headers=headers)).status_code == 200


async def test_a_units_members_are_listed_to_admins_and_its_managers(client: httpx.AsyncClient, org: Org) -> None:
    await set_units(client, org.owner, org.editor, org.a, org.c)
    await set_units(client, org.owner, org.viewer, org.c)

    listed = await client.get(f"{UNITS}/{org.a}/members", headers=org.headers(org.manager))
    assert listed.status_code == 200, listed.text
    by_id = {member["user_id"]: member for member in listed.json()["items"]}
    assert set(by_id) == {str(org.manager.user_id), str(org.editor.user_id)}  # the free members are not listed
    assert by_id[str(org.editor.user_id)] == {
        "user_id": str(org.editor.user_id),
        "email": org.editor.email,
        "name": "Test User",
        "role": "editor",
    }
    error_of(await client.get(f"{UNITS}/{org.c}/members", headers=org.headers(org.manager)), 403, "FORBIDDEN")
    of_c = await client.get(f"{UNITS}/{org.c}/members", params={"limit": 1}, headers=org.headers(org.admin))
    first = of_c.json()
    second = await client.get(
        f"{UNITS}/{org.c}/members", params={"limit": 1, "cursor": first["next_cursor"]}, headers=org.owner.headers
    )
    pages = first["items"] + second.json()["items"]
    assert {member["user_id"] for member in pages} == {str(org.editor.user_id), str(org.viewer.user_id)}
    assert second.json()["next_cursor"] is None


async def test_foreign_and_unknown_members_are_not_found(client: httpx.AsyncClient, org: Org) -> None:
    outsider = await register(client)
    for user_id in (outsider.user_id, uuid4()):
        path = member_units_path(user_id)
        error_of(await client.put(path, json={"unit_ids": []}, headers=org.owner.headers), 404, "MEMBER_NOT_FOUND")
        error_of(await client.get(path, headers=org.owner.headers), 404, "MEMBER_NOT_FOUND")
    theirs = await create_unit(client, outsider, "Theirs")
    refused = await put_units(client, org.owner.headers, org.editor, org.a, theirs["id"])
    assert error_of(refused, 404, "UNIT_NOT_FOUND")["details"] == {"unit_ids": [theirs["id"]]}
    assert await unit_ids_of(client, org.owner, org.editor) == set()


@pytest.mark.parametrize(
    "body",
    [{}, {"unit_ids": "A"}, {"unit_ids": ["not-a-uuid"]}, {"unit_ids": [str(uuid4())] * (MAX_UNITS_PER_ORG + 1)}],
)
async def test_malformed_unit_lists_are_refused(client: httpx.AsyncClient, org: Org, body: dict[str, object]) -> None:
    path = member_units_path(org.editor.user_id)
    error_of(await client.put(path, json=body, headers=org.owner.headers), 422, "VALIDATION_ERROR")


async def test_a_unit_named_twice_counts_once(client: httpx.AsyncClient, org: Org) -> None:
    answer = await put_units(client, org.owner.headers, org.editor, org.a, org.a, org.b)
    assert [unit["id"] for unit in answer.json()["units"]] == [org.a, org.b]


async def test_changes_of_one_members_units_at_once_leave_one_of_them(client: httpx.AsyncClient, org: Org) -> None:
    choices = [(org.a,), (org.b,), (org.a, org.c), (org.b, org.c), ()]
    answers = await asyncio.gather(
        *(put_units(client, org.owner.headers, org.editor, *choices[n % len(choices)]) for n in range(20))
    )
    assert {answer.status_code for answer in answers} == {200}
    assert await unit_ids_of(client, org.owner, org.editor) in [set(choice) for choice in choices]


async def test_a_unit_deleted_while_a_member_is_limited_to_it_never_leaves_them_free(
    client: httpx.AsyncClient, org: Org
) -> None:
    for round_ in range(5):
        unit = (await create_unit(client, org.owner, f"Short-lived {round_}"))["id"]
        await set_units(client, org.owner, org.editor, org.c)
        deleted, limited = await asyncio.gather(
            client.delete(f"{UNITS}/{unit}", headers=org.owner.headers),
            put_units(client, org.owner.headers, org.editor, unit),
        )
        outcome = (deleted.status_code, limited.status_code)
        assert outcome in {(204, 404), (409, 200)}, (deleted.text, limited.text)
        assert await unit_ids_of(client, org.owner, org.editor) == ({org.c} if outcome == (204, 404) else {unit})
