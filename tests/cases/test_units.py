"""Members limited to business units see and work only the cases of their units, everywhere cases are reached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from folio.models import Event
from tests.cases.conftest import CASES, Team, import_cases, make_unit
from tests.factories import Account, add_member, error_of, register
from tests.records.conftest import all_records


@dataclass
class Units:
    team: Team
    north: UUID
    south: UUID
    west: UUID
    northerner: Account  # an editor limited to North
    manager: Account  # a business-unit manager limited to North and South
    cases: dict[str, dict[str, Any]]  # n1 (North), s1 (South), x1 (no unit)


@pytest.fixture
async def units(app: FastAPI, client: httpx.AsyncClient, team: Team) -> Units:
    northerner, manager = await register(client, name="Nora North"), await register(client, name="Max Manager")
    await add_member(client, team.owner, northerner, "editor")
    await add_member(client, team.owner, manager, "bu_manager")
    north = await make_unit(app, team.owner.org_id, "North", northerner, manager)
    south = await make_unit(app, team.owner.org_id, "South", manager)
    west = await make_unit(app, team.owner.org_id, "West")
    cases = await import_cases(
        client, team.owner, "n1,A northern complaint,north,high", "s1,A southern one,South,", "x1,Nobody's,,"
    )
    return Units(team, north, south, west, northerner, manager, cases)


async def test_a_restricted_member_sees_only_the_cases_of_their_units(units: Units) -> None:
    team, client = units.team, units.team.client
    assert units.cases["n1"]["unit_id"] == str(units.north)  # unit names match without regard to case
    assert units.cases["x1"]["unit_id"] is None
    as_northerner, as_manager = team.headers(units.northerner), team.headers(units.manager)

    assert {case["external_id"] for case in await all_records(client, as_northerner)} == {"n1"}
    assert {case["external_id"] for case in await all_records(client, as_manager)} == {"n1", "s1"}
    assert await all_records(client, as_northerner, unit_id=str(units.south)) == []
    for hidden in ("s1", "x1"):
        case = units.cases[hidden]
        for path in (case["id"], case["number"], f"{case['id']}/history", f"{case['id']}/comments"):
            error_of(await client.get(f"{CASES}/{path}", headers=as_northerner), 404, "CASE_NOT_FOUND")
        patched = await client.patch(f"{CASES}/{case['id']}", json={"status": "waiting"}, headers=as_northerner)
        error_of(patched, 404, "CASE_NOT_FOUND")
        comment = await client.post(f"{CASES}/{case['id']}/comments", json={"body": "hi"}, headers=as_northerner)
        error_of(comment, 404, "CASE_NOT_FOUND")
        bulk = {"ids": [units.cases["n1"]["id"], case["id"]], "changes": {"priority": "low"}}
        refused = error_of(await client.post(f"{CASES}/bulk", json=bulk, headers=as_northerner), 404, "CASE_NOT_FOUND")
        assert refused["details"]["id"] == case["id"]
    assert (await client.get(f"{CASES}/{units.cases['n1']['number']}", headers=as_northerner)).status_code == 200
    assert (await team.current(units.cases["n1"]["id"]))["priority"] == "high"  # the bulk changed nothing
    # Search and documents hide them too.
    document = await client.get(f"/api/v1/documents/{units.cases['s1']['id']}", headers=as_northerner)
    error_of(document, 404, "DOCUMENT_NOT_FOUND")


async def test_a_manager_moves_cases_between_their_units_only(app: FastAPI, units: Units) -> None:
    team, client = units.team, units.team.client
    n1 = units.cases["n1"]["id"]
    as_manager = team.headers(units.manager)

    moved = await client.patch(f"{CASES}/{n1}", json={"unit_id": str(units.south)}, headers=as_manager)
    assert moved.status_code == 200, moved.text
    assert moved.json()["unit_id"] == str(units.south)
    # The northerner no longer sees it; the event of the move is for the South's members.
    error_of(await client.get(f"{CASES}/{n1}", headers=team.headers(units.northerner)), 404, "CASE_NOT_FOUND")
    async with app.state.sessionmaker() as session:
        event = await session.scalar(select(Event).where(Event.subject_id == UUID(n1)).order_by(Event.id.desc()))
    assert event is not None
    assert (event.visibility, event.unit_id) == ("unit", units.south)
    assert event.data["changes"] == [{"field": "unit_id", "before": str(units.north), "after": str(units.south)}]

    for target in (units.west, None):
        body = {"unit_id": None if target is None else str(target)}
        refused = error_of(
            await client.patch(f"{CASES}/{n1}", json=body, headers=as_manager), 403, "CASE_ACTION_FORBIDDEN"
        )
        assert refused["details"]["action"] == "move"
    # An unrestricted manager moves a case anywhere in the organization, even to no unit.
    assert (await team.patch(team.bu_manager, {"unit_id": str(units.west)}, n1)).json()["unit_id"] == str(units.west)
    assert (await team.patch(team.bu_manager, {"unit_id": None}, n1)).json()["unit_id"] is None


async def test_a_restricted_supervisor_is_refused_an_assignee_who_cannot_see_the_case(
    app: FastAPI, units: Units
) -> None:
    team = units.team
    await make_unit(app, team.owner.org_id, "East", team.supervisor)
    n1 = units.cases["n1"]["id"]
    refused = error_of(
        await team.patch(team.owner, {"assigned_to": str(team.supervisor.user_id)}, n1), 422, "ASSIGNEE_NOT_MEMBER"
    )
    assert refused["details"]["unit_id"] == str(units.north)
    taken = await team.patch(team.owner, {"assigned_to": str(units.northerner.user_id)}, n1)
    assert taken.json()["assigned_to"] == str(units.northerner.user_id)
