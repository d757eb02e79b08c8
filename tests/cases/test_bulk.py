"""POST /cases/bulk: the same change to many cases, all or nothing, one event each."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from folio.models import Event
from tests.cases.conftest import CASES, Team, import_cases
from tests.factories import Account, error_of, register
from tests.records.conftest import all_records


async def bulk(team: Team, account: Account, ids: list[str], **changes: Any) -> httpx.Response:
    return await team.client.post(f"{CASES}/bulk", json={"ids": ids, "changes": changes}, headers=team.headers(account))


async def state(team: Team) -> dict[str, tuple[str, str, str | None]]:
    return {
        case["external_id"]: (case["status"], case["priority"], case["assigned_to"])
        for case in await all_records(team.client, team.owner.headers)
    }


async def case_events(app: FastAPI) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).where(Event.type == "case.updated")) or 0)


async def test_many_cases_change_at_once_with_an_event_each(app: FastAPI, team: Team) -> None:
    cases = await import_cases(team.client, team.owner, *(f"b{index},Case {index},,low" for index in range(5)))
    ids = [cases[f"b{index}"]["id"] for index in range(5)]
    assert (await team.patch(team.owner, {"priority": "high"}, ids[0])).status_code == 200
    before = await case_events(app)

    response = await bulk(
        team, team.supervisor, [*ids, ids[1]], status="waiting", priority="high", assigned_to=str(team.editor.user_id)
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"updated": sorted(ids), "unchanged": []}
    after = await state(team)
    assert {after[f"b{index}"] for index in range(5)} == {("waiting", "high", str(team.editor.user_id))}
    assert after["k1"] == ("open", "normal", None)
    assert await case_events(app) == before + 5
    # The assignee is told of each case.
    notices = await team.client.get("/api/v1/inbox", params={"limit": 100}, headers=team.headers(team.editor))
    assert {item["subject"]["id"] for item in notices.json()["items"]} == set(ids)
    # The same change again leaves them as they were, with no event.
    again = await bulk(team, team.supervisor, ids, status="waiting")
    assert again.json() == {"updated": [], "unchanged": sorted(ids)}
    assert await case_events(app) == before + 5


async def test_one_case_that_cannot_change_fails_them_all(app: FastAPI, client: httpx.AsyncClient, team: Team) -> None:
    cases = await import_cases(team.client, team.owner, "c1,One,,", "c2,Two,,", "c3,Three,,")
    ids = [cases[name]["id"] for name in ("c1", "c2", "c3")]
    assert (await team.patch(team.owner, {"status": "resolved"}, ids[1])).status_code == 200
    outsider = await register(client)
    theirs = (await import_cases(client, outsider, "o1,Theirs,,"))["o1"]["id"]
    before, events = await state(team), await case_events(app)

    illegal = error_of(await bulk(team, team.owner, ids, status="waiting"), 409, "CASE_TRANSITION_INVALID")
    assert illegal["details"] == {"id": ids[1], "from": "resolved", "to": "waiting", "allowed": ["closed", "open"]}
    for foreign in (theirs, str(uuid4())):
        missing = error_of(await bulk(team, team.owner, [*ids, foreign], priority="urgent"), 404, "CASE_NOT_FOUND")
        assert (missing["details"]["id"], missing["details"]["ids"]) == (foreign, [foreign])
    forbidden = error_of(await bulk(team, team.editor, ids, status="open"), 403, "CASE_ACTION_FORBIDDEN")
    assert forbidden["details"] == {"id": ids[1], "action": "reopen", "requires": "supervisor"}
    unfit = error_of(
        await bulk(team, team.owner, ids, assigned_to=str(team.viewer.user_id)), 422, "ASSIGNEE_NOT_MEMBER"
    )
    assert unfit["details"]["id"] == min(ids)
    error_of(await bulk(team, team.viewer, ids, priority="low"), 403, "FORBIDDEN")

    assert await state(team) == before
    assert await case_events(app) == events
    theirs_now = await team.client.get(f"{CASES}/{theirs}", headers=outsider.headers)
    assert theirs_now.json()["priority"] == "normal"


async def test_a_bulk_update_is_bounded(team: Team) -> None:
    for body in (
        {"ids": [], "changes": {"priority": "low"}},
        {"ids": [team.case["id"]], "changes": {}},
        {"ids": [team.case["id"]], "changes": {"unit_id": None}},
        {"ids": [team.case["id"]], "changes": {"status": None}},
        {"ids": [str(uuid4()) for _ in range(1001)], "changes": {"priority": "low"}},
        {"ids": ["C-000001"], "changes": {"priority": "low"}},
    ):
        response = await team.client.post(f"{CASES}/bulk", json=body, headers=team.headers(team.owner))
        error_of(response, 422, "VALIDATION_ERROR")
    over = await bulk(team, team.owner, [str(uuid4()) for _ in range(101)], priority="low")
    assert error_of(over, 422, "VALIDATION_ERROR")["details"] == {"field": "ids", "max": 100}
    # A hundred at once is within the bound (they are checked: none of these exists).
    at_most = await bulk(team, team.owner, [str(uuid4()) for _ in range(100)], priority="low")
    error_of(at_most, 404, "CASE_NOT_FOUND")


async def test_a_hundred_cases_at_once(team: Team) -> None:
    cases = await import_cases(team.client, team.owner, *(f"h{index},Case {index},," for index in range(99)))
    ids = [case["id"] for case in cases.values()]
    assert len(ids) == 100
    response = await bulk(team, team.supervisor, ids, status="resolved")
    assert response.status_code == 200, response.text
    assert len(response.json()["updated"]) == 100
    assert {status for status, _, _ in (await state(team)).values()} == {"resolved"}
    assert all(UUID(case_id) for case_id in response.json()["updated"])
