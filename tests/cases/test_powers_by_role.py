"""Each role makes exactly the changes to a case it may: every other role is refused with the action named."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from folio.models import Record
from tests.cases.conftest import Team, make_team, make_unit
from tests.factories import error_of


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """Tables are emptied once the module is done (see `shared_team`)."""


@pytest.fixture(scope="module")
async def shared_team(app: FastAPI, _empty_tables_at_the_end: None) -> AsyncIterator[tuple[Team, UUID]]:
    """A team, and a unit of its organization."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        team = await make_team(client)
        yield team, await make_unit(app, team.owner.org_id, "North")


ROLES = ("owner", "admin", "bu_manager", "supervisor", "editor", "viewer")


def allowed(roles: set[str]) -> list[tuple[str, bool]]:
    return [(role, role in roles) for role in ROLES]


async def resolved(team: Team) -> None:
    assert (await team.patch(team.owner, {"status": "resolved"})).status_code == 200


async def closed(team: Team) -> None:
    await resolved(team)
    assert (await team.patch(team.owner, {"status": "closed"})).status_code == 200


async def assigned_to_supervisor(team: Team) -> None:
    response = await team.patch(team.owner, {"assigned_to": str(team.supervisor.user_id)})
    assert response.status_code == 200, response.text


SUPERVISORS = {"owner", "admin", "bu_manager", "supervisor"}
EDITORS = SUPERVISORS | {"editor"}


@pytest.mark.parametrize(
    ("setup", "body", "action", "roles"),
    [
        (None, {"status": "in_progress"}, None, EDITORS),
        (None, {"status": "waiting"}, None, EDITORS),
        (None, {"priority": "urgent"}, None, EDITORS),
        (None, {"status": "resolved"}, "resolve", SUPERVISORS),
        (resolved, {"status": "closed"}, "close", SUPERVISORS),
        (resolved, {"status": "open"}, "reopen", SUPERVISORS),
        (closed, {"status": "open"}, "reopen", SUPERVISORS),
        (None, {"assigned_to": "supervisor"}, "assign", SUPERVISORS),
        (assigned_to_supervisor, {"assigned_to": None}, "assign", SUPERVISORS),
        (assigned_to_supervisor, {"assigned_to": "self"}, "assign", SUPERVISORS),
        (None, {"unit_id": "unit"}, "move", {"owner", "admin", "bu_manager"}),
    ],
    ids=[
        "in_progress",
        "waiting",
        "priority",
        "resolve",
        "close",
        "reopen-resolved",
        "reopen-closed",
        "assign-another",
        "unassign-another",
        "take-from-another",
        "move-unit",
    ],
)
async def test_each_role_makes_only_the_changes_it_may(
    app: FastAPI, shared_team: tuple[Team, UUID], setup: Any, body: dict[str, Any], action: str | None, roles: set[str]
) -> None:
    team, unit = shared_team
    for role, may in allowed(roles):
        team.case = await _fresh_case(app, team)
        if setup is not None:
            await setup(team)
        account = getattr(team, role)
        asked = {
            name: str(unit)
            if value == "unit"
            else str(account.user_id)
            if value == "self"
            else str(team.supervisor.user_id)
            if value == "supervisor"
            else value
            for name, value in body.items()
        }
        response = await team.patch(account, asked)
        if may:
            assert response.status_code == 200, (role, response.text)
            for name, value in asked.items():
                assert response.json()[name] == value, role
        elif role == "viewer":
            error_of(response, 403, "FORBIDDEN")  # no cases:write at all
        else:
            error = error_of(response, 403, "CASE_ACTION_FORBIDDEN")
            assert error["details"]["action"] == action, role


async def _fresh_case(app: FastAPI, team: Team) -> dict[str, Any]:
    """The team's case back to open, unassigned, of no unit and normal priority."""
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Record)
            .where(Record.document_id == team.case["id"])
            .values(case_status="open", assigned_to=None, unit_id=None, priority="normal", resolved_at=None)
        )
    return await team.current()
