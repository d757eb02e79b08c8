"""/api/v1/units: who reads and who changes units, names and bounds, tenancy, deletion and the audit log."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx
import pytest

from folio.units.service import MAX_UNITS_PER_ORG
from tests.audit.entries import entries, the_entry
from tests.factories import add_member, create_api_key, error_of, register
from tests.records.conftest import csv_bytes, import_batch
from tests.units.helpers import (
    UNITS,
    create_unit,
    member_units_path,
    put_units,
    set_units,
    unit_ids_of,
)

CASES = "/api/v1/cases"


async def test_an_admin_creates_reads_changes_and_deletes_a_unit(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    made = await create_unit(client, owner, "EMEA", description="Europe, the Middle East and Africa")

    assert made["name"] == "EMEA"
    assert made["description"] == "Europe, the Middle East and Africa"
    listed = await client.get(UNITS, headers=owner.headers)
    assert listed.status_code == 200, listed.text
    assert listed.json() == {"items": [made], "next_cursor": None}
    one = await client.get(f"{UNITS}/{made['id']}", headers=owner.headers)
    assert one.json() == made

    renamed = await client.patch(f"{UNITS}/{made['id']}", json={"name": "Europe"}, headers=owner.headers)
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["description"]) == ("Europe", made["description"])
    assert renamed.json()["updated_at"] > made["updated_at"]
    described = await client.patch(f"{UNITS}/{made['id']}", json={"description": ""}, headers=owner.headers)
    assert (described.json()["name"], described.json()["description"]) == ("Europe", "")

    deleted = await client.delete(f"{UNITS}/{made['id']}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text
    error_of(await client.get(f"{UNITS}/{made['id']}", headers=owner.headers), 404, "UNIT_NOT_FOUND")
    assert (await client.get(UNITS, headers=owner.headers)).json()["items"] == []


async def test_units_are_listed_in_pages_in_the_order_they_were_made(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    made = [(await create_unit(client, owner, f"Unit {number}"))["id"] for number in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(UNITS, params=params, headers=owner.headers)).json()
        seen += [unit["id"] for unit in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert seen == made


@pytest.mark.parametrize("role", ["viewer", "editor", "supervisor", "bu_manager"])
async def test_every_member_reads_units_and_only_admins_change_them(client: httpx.AsyncClient, role: str) -> None:
    owner, member, admin = await register(client), await register(client), await register(client)
    await add_member(client, owner, member, role)
    await add_member(client, owner, admin, "admin")
    unit = await create_unit(client, owner, "EMEA")
    headers = member.in_org(owner.org_id)

    assert (await client.get(UNITS, headers=headers)).json()["items"] == [unit]
    assert (await client.get(f"{UNITS}/{unit['id']}", headers=headers)).json() == unit
    error_of(await client.post(UNITS, json={"name": "NA"}, headers=headers), 403, "FORBIDDEN")
    error_of(await client.patch(f"{UNITS}/{unit['id']}", json={"name": "x"}, headers=headers), 403, "FORBIDDEN")
    error_of(await client.delete(f"{UNITS}/{unit['id']}", headers=headers), 403, "FORBIDDEN")
    assert (await client.get(f"{UNITS}/{unit['id']}", headers=owner.headers)).json() == unit

    by_admin = await client.post(UNITS, json={"name": "NA"}, headers=admin.in_org(owner.org_id))
    assert by_admin.status_code == 201, by_admin.text


async def test_an_api_key_changes_units_only_with_the_admin_scope(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    reader = {"X-API-Key": (await create_api_key(client, owner, scopes=["documents:read"]))["secret"]}
    admin = {"X-API-Key": (await create_api_key(client, owner, scopes=["admin"]))["secret"]}

    error_of(await client.post(UNITS, json={"name": "EMEA"}, headers=reader), 403, "FORBIDDEN")
    made = await client.post(UNITS, json={"name": "EMEA"}, headers=admin)
    assert made.status_code == 201, made.text
    assert (await client.get(UNITS, headers=reader)).json()["items"] == [made.json()]


async def test_names_are_unique_in_an_organization_without_regard_to_case(client: httpx.AsyncClient) -> None:
    owner, other = await register(client), await register(client)
    emea = await create_unit(client, owner, "EMEA")
    north = await create_unit(client, owner, "North America")

    for name in ("emea", "  Emea  "):
        error_of(await client.post(UNITS, json={"name": name}, headers=owner.headers), 409, "UNIT_NAME_TAKEN")
    renamed = await client.patch(f"{UNITS}/{north['id']}", json={"name": "eMeA"}, headers=owner.headers)
    error_of(renamed, 409, "UNIT_NAME_TAKEN")
    recased = await client.patch(f"{UNITS}/{emea['id']}", json={"name": "Emea"}, headers=owner.headers)
    assert recased.json()["name"] == "Emea"
    assert (await create_unit(client, other, "EMEA"))["name"] == "EMEA"  # another organization's names are theirs
    trimmed = await create_unit(client, owner, "  APAC ")
    assert trimmed["name"] == "APAC"


async def test_a_name_made_by_many_requests_at_once_is_made_once(client: httpx.AsyncClient) -> None:
    owner = await register(client)

    answers = await asyncio.gather(
        *(client.post(UNITS, json={"name": f"{'L' if n % 2 else 'l'}atam"}, headers=owner.headers) for n in range(8))
    )

    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 7
    assert len((await client.get(UNITS, headers=owner.headers)).json()["items"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "EM\x00EA"},
        {"name": 12},
        {"name": "EMEA", "description": "d" * 501},
        {"name": "EMEA", "description": "nul \x00"},
    ],
)
async def test_bad_names_and_descriptions_are_refused(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    owner = await register(client)
    unit = await create_unit(client, owner, "Unit")

    error_of(await client.post(UNITS, json=body, headers=owner.headers), 422, "VALIDATION_ERROR")
    if body:
        changed = await client.patch(f"{UNITS}/{unit['id']}", json=body, headers=owner.headers)
        error_of(changed, 422, "VALIDATION_ERROR")
    assert (await client.get(f"{UNITS}/{unit['id']}", headers=owner.headers)).json() == unit


async def test_a_name_of_100_characters_is_kept_whole(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    assert (await create_unit(client, owner, "é" * 100))["name"] == "é" * 100


async def test_an_organization_has_at_most_200_units_even_when_asked_at_once(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    for number in range(MAX_UNITS_PER_ORG - 5):
        await create_unit(client, owner, f"Unit {number}")

    answers = await asyncio.gather(
        *(client.post(UNITS, json={"name": f"Late {number}"}, headers=owner.headers) for number in range(10))
    )

    assert sorted(answer.status_code for answer in answers) == [201] * 5 + [409] * 5
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert error_of(refused, 409, "TOO_MANY_UNITS")["details"] == {"limit": MAX_UNITS_PER_ORG}
    last = (await client.get(UNITS, params={"limit": 1}, headers=owner.headers)).json()["items"][0]
    assert (await client.delete(f"{UNITS}/{last['id']}", headers=owner.headers)).status_code == 204
    await create_unit(client, owner, "One more")


async def test_another_organizations_unit_is_not_found(client: httpx.AsyncClient) -> None:
    owner, outsider = await register(client), await register(client)
    member = await register(client)
    await add_member(client, owner, member, "viewer")
    theirs = await create_unit(client, outsider, "Theirs")

    for unit_id in (theirs["id"], str(uuid4())):
        path = f"{UNITS}/{unit_id}"
        error_of(await client.get(path, headers=owner.headers), 404, "UNIT_NOT_FOUND")
        error_of(await client.patch(path, json={"name": "Mine"}, headers=owner.headers), 404, "UNIT_NOT_FOUND")
        error_of(await client.delete(path, headers=owner.headers), 404, "UNIT_NOT_FOUND")
        error_of(await client.get(f"{path}/members", headers=owner.headers), 404, "UNIT_NOT_FOUND")
        error_of(await put_units(client, owner, member, unit_id), 404, "UNIT_NOT_FOUND")
    error_of(await client.get(f"{UNITS}/not-a-uuid", headers=owner.headers), 422, "VALIDATION_ERROR")
    assert (await client.get(UNITS, headers=owner.headers)).json()["items"] == []
    assert (await client.get(f"{UNITS}/{theirs['id']}", headers=outsider.headers)).json() == theirs


async def test_deleting_a_unit_leaves_its_cases_without_a_unit_and_its_members_their_other_units(
    client: httpx.AsyncClient,
) -> None:
    owner, member = await register(client), await register(client)
    await add_member(client, owner, member, "viewer")
    emea, apac = await create_unit(client, owner, "EMEA"), await create_unit(client, owner, "APAC")
    await set_units(client, owner, member, emea["id"], apac["id"])
    rows = csv_bytes("id,message,unit", "c1,My invoice is wrong,emea", "c2,The app crashes,APAC")
    await import_batch(client, owner, rows, {"external_id": "id", "text": "message", "business_unit": "unit"})
    cases = {case["external_id"]: case for case in (await client.get(CASES, headers=owner.headers)).json()["items"]}
    assert (cases["c1"]["unit_id"], cases["c2"]["unit_id"]) == (emea["id"], apac["id"])

    assert (await client.delete(f"{UNITS}/{emea['id']}", headers=owner.headers)).status_code == 204

    assert (await client.get(f"{CASES}/{cases['c1']['id']}", headers=owner.headers)).json()["unit_id"] is None
    assert await unit_ids_of(client, owner, member) == {apac["id"]}
    deleted = await the_entry(client, owner, "unit.deleted")
    assert (deleted["target"], deleted["details"]) == ({"type": "unit", "id": emea["id"]}, {"name": "EMEA", "cases": 1})


async def test_a_unit_some_members_are_limited_to_alone_is_not_deleted(client: httpx.AsyncClient) -> None:
    owner, alone, also = [await register(client) for _ in range(3)]
    for member in (alone, also):
        await add_member(client, owner, member, "editor")
    emea, apac = await create_unit(client, owner, "EMEA"), await create_unit(client, owner, "APAC")
    await set_units(client, owner, alone, emea["id"])
    await set_units(client, owner, also, emea["id"], apac["id"])

    refused = await client.delete(f"{UNITS}/{emea['id']}", headers=owner.headers)

    error = error_of(refused, 409, "UNIT_MEMBERS_NEED_REASSIGNMENT")
    assert error["details"] == {"user_ids": [str(alone.user_id)], "count": 1}
    assert await unit_ids_of(client, owner, alone) == {emea["id"]}  # nothing changed
    assert await unit_ids_of(client, owner, also) == {emea["id"], apac["id"]}
    await set_units(client, owner, alone, apac["id"])
    assert (await client.delete(f"{UNITS}/{emea['id']}", headers=owner.headers)).status_code == 204
    assert await unit_ids_of(client, owner, alone) == {apac["id"]}
    assert await unit_ids_of(client, owner, also) == {apac["id"]}


async def test_changes_of_units_are_audited_and_a_change_of_nothing_is_not(client: httpx.AsyncClient) -> None:
    owner, member = await register(client), await register(client)
    await add_member(client, owner, member, "editor")
    unit = await create_unit(client, owner, "EMEA")
    await client.patch(f"{UNITS}/{unit['id']}", json={"name": "Europe", "description": "d"}, headers=owner.headers)
    await client.patch(f"{UNITS}/{unit['id']}", json={"name": "Europe"}, headers=owner.headers)
    await set_units(client, owner, member, unit["id"])
    await set_units(client, owner, member, unit["id"])

    created = await the_entry(client, owner, "unit.created")
    assert (created["target"], created["details"]) == ({"type": "unit", "id": unit["id"]}, {"name": "EMEA"})
    updated = await the_entry(client, owner, "unit.updated")
    assert updated["details"] == {"name": {"from": "EMEA", "to": "Europe"}, "description": {"from": "", "to": "d"}}
    changed = await the_entry(client, owner, "member.units_changed")
    assert changed["target"] == {"type": "user", "id": str(member.user_id)}
    assert changed["details"] == {"added": ["Europe"], "removed": [], "restricted": True}
    assert changed["actor"]["user_id"] == str(owner.user_id)
    await set_units(client, owner, member)
    lifted = (await entries(client, owner, action="member.units_changed"))[0]
    assert lifted["details"] == {"added": [], "removed": ["Europe"], "restricted": False}


async def test_a_member_reads_their_own_units(client: httpx.AsyncClient) -> None:
    owner, member = await register(client), await register(client)
    await add_member(client, owner, member, "viewer")
    emea, apac = await create_unit(client, owner, "EMEA"), await create_unit(client, owner, "apac")
    path = member_units_path(member.user_id)
    mine = await client.get(path, headers=member.in_org(owner.org_id))
    assert mine.json() == {"user_id": str(member.user_id), "role": "viewer", "restricted": False, "units": []}

    await set_units(client, owner, member, emea["id"], apac["id"])

    mine = await client.get(path, headers=member.in_org(owner.org_id))
    units = [{"id": apac["id"], "name": "apac"}, {"id": emea["id"], "name": "EMEA"}]  # by name, without case
    assert mine.json() == {"user_id": str(member.user_id), "role": "viewer", "restricted": True, "units": units}
