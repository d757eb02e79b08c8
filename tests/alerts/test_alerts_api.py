"""The alerts API: lists and details only a member who sees an alert's unit may read (and live streams alike);
acknowledging and resolving by supervisors and above, along the allowed transitions, with their events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from folio.alerts.evaluation import evaluate_indexed
from folio.models import CasePriority, Record
from tests.alerts.conftest import (
    ALERTS,
    Case,
    alert_detail,
    alerts_of,
    condition_rule,
    create_rule,
    events_of,
    make_unit,
    member,
    write_cases,
)
from tests.events.test_sse import Live, live_app
from tests.factories import Account, create_api_key, error_of, register

URGENT = {"field": "priority", "op": "eq", "value": "urgent"}


@dataclass
class Setup:
    owner: Account
    north_editor: Account
    north_supervisor: Account
    north: UUID
    south: UUID
    rule_id: str
    # Alert ids by unit name ("none": cases of no unit).
    alerts: dict[str, str]


async def raise_alerts(app: FastAPI, client: httpx.AsyncClient) -> Setup:
    """An organization with units North and South, members limited to North, and one alert per unit (and one
    about a case of no unit) raised by a rule over every unit."""
    owner = await register(client)
    north_editor = await member(client, owner, "editor")
    north_supervisor = await member(client, owner, "supervisor")
    north = await make_unit(app, owner.org_id, "North", north_editor, north_supervisor)
    south = await make_unit(app, owner.org_id, "South")
    rule = await create_rule(client, owner.headers, condition_rule(URGENT, severity="high"))
    ids = {}
    for name, unit_id in (("south", south), ("none", None), ("north", north)):
        [ids[name]] = await write_cases(app, owner.org_id, [Case(unit_id=unit_id, priority=CasePriority.URGENT)])
        async with app.state.sessionmaker() as session, session.begin():
            await evaluate_indexed(session, org_id=owner.org_id, document_ids=[ids[name]])
    by_unit = {alert["unit_id"]: alert["id"] for alert in await alerts_of(client, owner.headers)}
    alerts = {"north": by_unit[str(north)], "south": by_unit[str(south)], "none": by_unit[None]}
    return Setup(owner, north_editor, north_supervisor, north, south, rule["id"], alerts)


@pytest.fixture
async def setup(app: FastAPI, client: httpx.AsyncClient) -> Setup:
    return await raise_alerts(app, client)


async def test_alerts_come_newest_first_with_filters_and_pages(client: httpx.AsyncClient, setup: Setup) -> None:
    headers = setup.owner.headers
    listed = await alerts_of(client, headers)
    assert [alert["id"] for alert in listed] == [setup.alerts["north"], setup.alerts["none"], setup.alerts["south"]]
    assert [alert["id"] for alert in await alerts_of(client, headers, limit=1)] == [alert["id"] for alert in listed]
    assert [alert["id"] for alert in await alerts_of(client, headers, unit_id=str(setup.south))] == [
        setup.alerts["south"]
    ]
    assert len(await alerts_of(client, headers, rule_id=setup.rule_id, severity="high", status="open")) == 3
    assert await alerts_of(client, headers, severity="low") == []
    await client.post(f"{ALERTS}/{setup.alerts['south']}/resolve", headers=headers)
    assert [alert["id"] for alert in await alerts_of(client, headers, status="resolved")] == [setup.alerts["south"]]
    error_of(await client.get(ALERTS, params={"status": "closed"}, headers=headers), 422, "VALIDATION_ERROR")
    error_of(await client.get(ALERTS, params={"cursor": "nope"}, headers=headers), 422, "INVALID_CURSOR")


async def test_a_member_limited_to_a_unit_sees_only_its_alerts(client: httpx.AsyncClient, setup: Setup) -> None:
    for account in (setup.north_editor, setup.north_supervisor):
        headers = account.in_org(setup.owner.org_id)
        assert [alert["id"] for alert in await alerts_of(client, headers)] == [setup.alerts["north"]]
        assert await alerts_of(client, headers, unit_id=str(setup.south)) == []
        detail = await alert_detail(client, headers, setup.alerts["north"])
        assert detail["count"] == len(detail["matches"]["items"]) == 1
        for hidden in ("south", "none"):
            response = await client.get(f"{ALERTS}/{setup.alerts[hidden]}", headers=headers)
            error_of(response, 404, "ALERT_NOT_FOUND")


async def test_a_case_moved_to_another_unit_leaves_the_matches_of_those_who_cannot_see_it(
    app: FastAPI, client: httpx.AsyncClient, setup: Setup
) -> None:
    headers = setup.north_editor.in_org(setup.owner.org_id)
    [match] = (await alert_detail(client, headers, setup.alerts["north"]))["matches"]["items"]
    async with app.state.sessionmaker() as session, session.begin():
        moved = update(Record).where(Record.document_id == UUID(match["document_id"])).values(unit_id=setup.south)
        await session.execute(moved)

    assert (await alert_detail(client, headers, setup.alerts["north"]))["matches"]["items"] == []
    assert len((await alert_detail(client, setup.owner.headers, setup.alerts["north"]))["matches"]["items"]) == 1


async def test_another_organizations_alert_is_not_found(client: httpx.AsyncClient, setup: Setup) -> None:
    stranger = await register(client)
    assert await alerts_of(client, stranger.headers) == []
    for path in ("", "/acknowledge", "/resolve"):
        method = "GET" if not path else "POST"
        response = await client.request(method, f"{ALERTS}/{setup.alerts['north']}{path}", headers=stranger.headers)
        error_of(response, 404, "ALERT_NOT_FOUND")


async def test_api_keys_need_the_alerts_scope(client: httpx.AsyncClient, setup: Setup) -> None:
    reader = await create_api_key(client, setup.owner, scopes=["alerts:read"])
    other = await create_api_key(client, setup.owner, scopes=["documents:read"])
    assert len(await alerts_of(client, {"X-API-Key": reader["secret"]})) == 3
    error_of(await client.get(ALERTS, headers={"X-API-Key": other["secret"]}), 403, "FORBIDDEN")


async def test_the_matches_come_a_page_at_a_time(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await create_rule(client, owner.headers, condition_rule(URGENT))
    ids = await write_cases(app, owner.org_id, [Case(priority=CasePriority.URGENT) for _ in range(5)])
    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_indexed(session, org_id=owner.org_id, document_ids=ids)
    [alert] = await alerts_of(client, owner.headers)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get(f"{ALERTS}/{alert['id']}", params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        seen += [match["document_id"] for match in response.json()["matches"]["items"]]
        if (cursor := response.json()["matches"]["next_cursor"]) is None:
            break
    assert seen == [str(case_id) for case_id in sorted(ids)]


async def test_supervisors_who_see_the_unit_acknowledge_then_resolve(
    app: FastAPI, client: httpx.AsyncClient, setup: Setup
) -> None:
    org_id = setup.owner.org_id
    editor = setup.north_editor.in_org(org_id)
    supervisor = setup.north_supervisor.in_org(org_id)
    north, south = setup.alerts["north"], setup.alerts["south"]

    error_of(await client.post(f"{ALERTS}/{north}/acknowledge", headers=editor), 403, "FORBIDDEN")
    error_of(await client.post(f"{ALERTS}/{south}/acknowledge", headers=supervisor), 404, "ALERT_NOT_FOUND")
    error_of(await client.post(f"{ALERTS}/{north}/resolve", headers=editor), 403, "FORBIDDEN")

    acknowledged = await client.post(f"{ALERTS}/{north}/acknowledge", headers=supervisor)
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["status"] == "acknowledged"
    assert acknowledged.json()["acknowledged_by"] == str(setup.north_supervisor.user_id)
    again = await client.post(f"{ALERTS}/{north}/acknowledge", headers=supervisor)
    assert error_of(again, 409, "ALERT_TRANSITION_NOT_ALLOWED")["details"] == {"status": "acknowledged"}

    resolved = await client.post(f"{ALERTS}/{north}/resolve", headers=supervisor)
    assert resolved.status_code == 200, resolved.text
    assert (resolved.json()["status"], resolved.json()["resolved_by"]) == (
        "resolved",
        str(setup.north_supervisor.user_id),
    )
    error_of(await client.post(f"{ALERTS}/{north}/resolve", headers=supervisor), 409, "ALERT_TRANSITION_NOT_ALLOWED")
    error_of(
        await client.post(f"{ALERTS}/{north}/acknowledge", headers=supervisor), 409, "ALERT_TRANSITION_NOT_ALLOWED"
    )
    # An open alert may be resolved at once.
    assert (await client.post(f"{ALERTS}/{south}/resolve", headers=setup.owner.headers)).status_code == 200

    [ack_event] = await events_of(app, org_id, "alert.acknowledged")
    resolve_events = await events_of(app, org_id, "alert.resolved")
    assert (ack_event.subject_id, ack_event.unit_id, ack_event.visibility) == (UUID(north), setup.north, "unit")
    assert (ack_event.actor_type, ack_event.actor_id) == ("user", setup.north_supervisor.user_id)
    assert ack_event.data["status"] == "acknowledged"
    assert [event.subject_id for event in resolve_events] == [UUID(north), UUID(south)]


@pytest.fixture(scope="module")
async def live(separate_database_url: str) -> AsyncIterator[Live]:
    async with live_app(separate_database_url) as running:
        yield running


async def test_a_member_limited_to_a_unit_streams_only_its_alerts(live: Live) -> None:
    setup = await raise_alerts(live.app, live.client)
    headers = setup.north_editor.in_org(setup.owner.org_id)

    async with live.open(headers=headers, types="alert.raised", since=0) as stream:
        first = await stream.event()
    async with live.open(headers=setup.owner.headers, types="alert.raised", since=0) as stream:
        everything = await stream.events(3)

    # The alerts of South and of no unit were raised before North's: the member's stream skipped them.
    assert (first.body["subject"]["id"], first.body["unit_id"]) == (setup.alerts["north"], str(setup.north))
    assert first.body["data"]["rule_name"] == "A condition"
    assert [event.body["subject"]["id"] for event in everything] == [
        setup.alerts["south"],
        setup.alerts["none"],
        setup.alerts["north"],
    ]
