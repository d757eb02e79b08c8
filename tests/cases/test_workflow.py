"""A case's life through its workflow: every legal move made by whoever may make it, every illegal one refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from itertools import permutations
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from folio.cases.workflow import TRANSITIONS
from folio.models import CaseStatus, Event, Record
from tests.cases.conftest import CASES, Team, import_cases, patch_case
from tests.factories import Account, error_of, register

PAIRS = list(permutations(CaseStatus, 2))


async def history(team: Team, account: Account | None = None) -> list[dict[str, Any]]:
    response = await team.client.get(
        f"{CASES}/{team.case['number']}/history", headers=team.headers(account or team.viewer)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_the_whole_lifecycle_of_a_case(team: Team) -> None:
    editor, supervisor = team.editor, team.supervisor
    created = await team.current()
    assert (created["status"], created["assigned_to"], created["resolved_at"]) == ("open", None, None)

    # The editor takes the case and works it.
    taken = await team.patch(editor, {"status": "in_progress", "assigned_to": str(editor.user_id)})
    assert taken.status_code == 200, taken.text
    assert (taken.json()["status"], taken.json()["assigned_to"]) == ("in_progress", str(editor.user_id))
    assert (await team.patch(editor, {"status": "waiting"})).json()["status"] == "waiting"
    assert (await team.patch(editor, {"status": "in_progress"})).json()["status"] == "in_progress"
    # The same status again changes nothing, and says so with no event.
    assert (await team.patch(editor, {"status": "in_progress"})).status_code == 200

    # Resolving is a supervisor's; closing straight from in_progress is no move at all (409 before 403).
    forbidden = error_of(await team.patch(editor, {"status": "resolved"}), 403, "CASE_ACTION_FORBIDDEN")
    assert forbidden["details"] == {"action": "resolve", "requires": "supervisor"}
    illegal = error_of(await team.patch(editor, {"status": "closed"}), 409, "CASE_TRANSITION_INVALID")
    assert illegal["details"] == {"from": "in_progress", "to": "closed", "allowed": ["open", "resolved", "waiting"]}

    resolved = (await team.patch(supervisor, {"status": "resolved"})).json()
    assert resolved["status"] == "resolved"
    assert resolved["resolved_at"] is not None
    assert resolved["overdue"] is False
    for status in ("in_progress", "waiting"):
        refused = error_of(await team.patch(supervisor, {"status": status}), 409, "CASE_TRANSITION_INVALID")
        assert refused["details"]["allowed"] == ["closed", "open"]
    assert error_of(await team.patch(editor, {"status": "open"}), 403, "CASE_ACTION_FORBIDDEN")["details"] == {
        "action": "reopen",
        "requires": "supervisor",
    }
    error_of(await team.patch(editor, {"status": "closed"}), 403, "CASE_ACTION_FORBIDDEN")

    closed = (await team.patch(supervisor, {"status": "closed"})).json()
    assert (closed["status"], closed["resolved_at"]) == ("closed", resolved["resolved_at"])
    for status in ("resolved", "in_progress", "waiting"):
        refused = error_of(await team.patch(supervisor, {"status": status}), 409, "CASE_TRANSITION_INVALID")
        assert refused["details"] == {"from": "closed", "to": status, "allowed": ["open"]}
    error_of(await team.patch(editor, {"status": "open"}), 403, "CASE_ACTION_FORBIDDEN")

    reopened = (await team.patch(supervisor, {"status": "open"})).json()
    assert (reopened["status"], reopened["resolved_at"], reopened["assigned_to"]) == ("open", None, str(editor.user_id))
    assert (await team.current())["status"] == "open"

    # The history has every move, newest first, with who made it.
    moves = [
        (item["actor"]["name"], [(change["field"], change["before"], change["after"]) for change in item["changes"]])
        for item in reversed(await history(team))
    ]
    assert moves == [
        (
            "Editor Person",
            [("status", "open", "in_progress"), ("assigned_to", None, str(editor.user_id))],
        ),
        ("Editor Person", [("status", "in_progress", "waiting")]),
        ("Editor Person", [("status", "waiting", "in_progress")]),
        ("Supervisor Person", [("status", "in_progress", "resolved")]),
        ("Supervisor Person", [("status", "resolved", "closed")]),
        ("Supervisor Person", [("status", "closed", "open")]),
    ]


async def test_a_patch_names_a_change_and_no_null_status(team: Team) -> None:
    for body in ({}, {"status": None}, {"priority": None}, {"status": "done"}, {"status": "open", "title": "x"}):
        error_of(await team.patch(team.owner, body), 422, "VALIDATION_ERROR")
    assert (await team.current())["status"] == "open"


# Every pair of statuses, on cases of one organization set up once.


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """Tables are emptied once the module is done (see `bench`)."""


@pytest.fixture(scope="module")
async def bench(app: FastAPI, _empty_tables_at_the_end: None) -> AsyncIterator[tuple[httpx.AsyncClient, Account]]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        owner = await register(client)
        await import_cases(client, owner, *(f"p{index},Case {index},," for index in range(len(PAIRS))))
        yield client, owner


@pytest.mark.parametrize(("before", "after"), PAIRS, ids=[f"{before}->{after}" for before, after in PAIRS])
async def test_each_move_is_made_or_refused_as_the_workflow_says(
    app: FastAPI, bench: tuple[httpx.AsyncClient, Account], before: CaseStatus, after: CaseStatus
) -> None:
    client, owner = bench
    external_id = f"p{PAIRS.index((before, after))}"
    resolved_at = datetime(2026, 1, 1, tzinfo=UTC) if before in {CaseStatus.RESOLVED, CaseStatus.CLOSED} else None
    async with app.state.sessionmaker() as session, session.begin():
        case_id: UUID = await session.scalar(
            update(Record)
            .where(Record.org_id == owner.org_id, Record.external_id == external_id)
            .values(case_status=before, resolved_at=resolved_at)
            .returning(Record.document_id)
        )
        events_before = await _events(session, case_id)

    response = await patch_case(client, owner.headers, str(case_id), {"status": after.value})

    async with app.state.sessionmaker() as session:
        events_after = await _events(session, case_id)
    if after in TRANSITIONS[before]:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == after.value
        assert len(events_after) == len(events_before) + 1
    else:
        error = error_of(response, 409, "CASE_TRANSITION_INVALID")
        assert error["details"]["from"] == before.value
        assert error["details"]["allowed"] == sorted(status.value for status in TRANSITIONS[before])
        stored = await client.get(f"{CASES}/{case_id}", headers=owner.headers)
        assert stored.json()["status"] == before.value
        assert events_after == events_before


async def _events(session: Any, case_id: UUID) -> list[int]:
    return list(await session.scalars(select(Event.id).where(Event.subject_id == case_id)))
