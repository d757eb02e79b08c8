"""Who may change what on a case: viewers nothing, editors their own work, supervisors assignments and endings,
business-unit managers the unit; and who may be an assignee."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import httpx
from fastapi import FastAPI

from tests.cases.conftest import Team, make_unit
from tests.factories import Account, error_of, register


async def test_an_editor_takes_an_unassigned_case_and_gives_up_their_own(team: Team) -> None:
    editor = team.editor
    taken = await team.patch(editor, {"assigned_to": str(editor.user_id)})
    assert taken.json()["assigned_to"] == str(editor.user_id)
    assert (await team.patch(editor, {"assigned_to": None})).json()["assigned_to"] is None
    # Nor may they hand it to someone else, even from themselves.
    await team.patch(editor, {"assigned_to": str(editor.user_id)})
    error_of(await team.patch(editor, {"assigned_to": str(team.supervisor.user_id)}), 403, "CASE_ACTION_FORBIDDEN")
    assert (await team.current())["assigned_to"] == str(editor.user_id)


async def test_a_priority_sets_the_due_time_from_the_cases_creation(team: Team) -> None:
    created = datetime.fromisoformat(team.case["created_at"])
    assert datetime.fromisoformat(team.case["due_at"]) - created == timedelta(hours=72)
    urgent = (await team.patch(team.editor, {"priority": "urgent"})).json()
    assert (urgent["priority"], datetime.fromisoformat(urgent["due_at"]) - created) == ("urgent", timedelta(hours=4))
    low = (await team.patch(team.editor, {"priority": "low"})).json()
    assert datetime.fromisoformat(low["due_at"]) - created == timedelta(hours=168)


async def test_an_assignee_is_a_member_who_works_cases_and_sees_the_unit(
    app: FastAPI, client: httpx.AsyncClient, team: Team
) -> None:
    stranger = await register(client)
    for user_id in (stranger.user_id, uuid4(), team.viewer.user_id):
        error = error_of(await team.patch(team.owner, {"assigned_to": str(user_id)}), 422, "ASSIGNEE_NOT_MEMBER")
        assert error["details"] == {"assigned_to": str(user_id)}
    # A member limited to another unit does not see this case (of no unit), nor one of a unit not theirs.
    north = await make_unit(app, team.owner.org_id, "North", team.editor)
    south = await make_unit(app, team.owner.org_id, "South")
    error = error_of(
        await team.patch(team.owner, {"assigned_to": str(team.editor.user_id)}), 422, "ASSIGNEE_NOT_MEMBER"
    )
    assert error["details"] == {"assigned_to": str(team.editor.user_id), "unit_id": None}
    assert (await team.patch(team.owner, {"unit_id": str(south)})).status_code == 200
    error_of(await team.patch(team.owner, {"assigned_to": str(team.editor.user_id)}), 422, "ASSIGNEE_NOT_MEMBER")
    moved = await team.patch(team.owner, {"unit_id": str(north), "assigned_to": str(team.editor.user_id)})
    assert moved.status_code == 200, moved.text
    # Moving the case where its assignee cannot follow is refused unless the assignee changes too.
    error = error_of(await team.patch(team.owner, {"unit_id": str(south)}), 422, "ASSIGNEE_NOT_MEMBER")
    assert error["details"]["unit_id"] == str(south)
    both = await team.patch(team.owner, {"unit_id": str(south), "assigned_to": str(team.supervisor.user_id)})
    assert (both.json()["unit_id"], both.json()["assigned_to"]) == (str(south), str(team.supervisor.user_id))
    current = await team.current()
    assert current["unit_id"] == str(south)


async def test_a_case_moves_only_to_a_unit_of_the_organization(
    client: httpx.AsyncClient, app: FastAPI, team: Team
) -> None:
    outsider = await register(client)
    theirs = await make_unit(app, outsider.org_id, "Theirs")
    for unit_id in (theirs, uuid4()):
        error = error_of(await team.patch(team.owner, {"unit_id": str(unit_id)}), 422, "CASE_UNIT_INVALID")
        assert error["details"] == {"unit_id": str(unit_id)}
    north = await make_unit(app, team.owner.org_id, "North")
    assert (await team.patch(team.admin, {"unit_id": str(north)})).json()["unit_id"] == str(north)
    assert (await team.patch(team.admin, {"unit_id": None})).json()["unit_id"] is None


async def test_an_api_key_acts_with_its_creators_role(team: Team) -> None:
    client = team.client

    async def key_of(account: Account) -> dict[str, str]:
        body = {"name": "script", "scopes": ["cases:read", "cases:write"]}
        created = await client.post("/api/v1/api-keys", json=body, headers=team.headers(account))
        assert created.status_code == 201, created.text
        return {"X-API-Key": created.json()["secret"]}

    url = f"/api/v1/cases/{team.case['id']}"
    editing = await key_of(team.editor)
    assert (await client.patch(url, json={"status": "waiting"}, headers=editing)).status_code == 200
    error_of(await client.patch(url, json={"status": "resolved"}, headers=editing), 403, "CASE_ACTION_FORBIDDEN")
    supervising = await key_of(team.supervisor)
    assert (await client.patch(url, json={"status": "resolved"}, headers=supervising)).status_code == 200
