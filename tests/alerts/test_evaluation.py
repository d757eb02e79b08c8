"""Evaluation: rules fire on the items they match and no others, once per item in a throttle window, per unit, as
cases are imported, indexed and enriched, as documents are ingested, and periodically for SLA breaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from folio.alerts.evaluation import evaluate_enriched, evaluate_indexed, evaluate_periodic, window_of
from folio.models import CasePriority, CaseStatus, Record
from tests.alerts.conftest import (
    Case,
    alert_detail,
    alerts_of,
    condition_rule,
    create_rule,
    events_of,
    make_unit,
    member,
    notifications_of,
    search_rule,
    stored_alerts,
    write_cases,
)
from tests.corpus import Doc, ingest
from tests.factories import register
from tests.records.conftest import all_records, csv_bytes, import_batch

HIGH_BILLING = {
    "all": [
        {"field": "severity", "op": "gte", "value": "high"},
        {"field": "category", "op": "eq", "value": "billing"},
    ]
}
# What the offline enrichment engine (the tests' default) labels each: checked in the first test.
FRAUD = "This is fraud. You took money from my account without authorisation and I'm reporting you to the Ombudsman."
CHARGED_TWICE = "I was charged twice for my March invoice. Please fix this and refund the duplicate charge."
INVOICE_COPY = "Can I get a copy of my invoice for October? Need it for my expenses."
APP_CRASH = "The app crashes every time I open the settings page since the last update."
MAPPING = {"external_id": "id", "text": "text"}
BILLING = {"category": "billing", "severity": "high", "sentiment": "negative", "risk_flag": False}


def rows(*texts: str, suffix: str = "") -> bytes:
    return csv_bytes("id,text", *(f'{index},"{text}{suffix}"' for index, text in enumerate(texts)))


@pytest.mark.usefixtures("held_clock")
async def test_a_condition_on_labels_fires_once_per_imported_case_it_matches(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    rule = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING, severity="high"))

    await import_batch(client, owner, rows(FRAUD, CHARGED_TWICE, INVOICE_COPY, APP_CRASH), MAPPING)

    cases = {case["external_id"]: case for case in await all_records(client, owner.headers)}
    labels = {key: case["enrichments"][0]["data"] for key, case in cases.items()}
    assert [(labels[key]["category"], labels[key]["severity"]) for key in "0123"] == [
        ("billing", "critical"),
        ("billing", "high"),
        ("billing", "low"),
        ("technical_issue", "medium"),
    ]
    [alert] = await alerts_of(client, owner.headers)
    assert (alert["rule_id"], alert["kind"], alert["severity"], alert["status"]) == (
        rule["id"],
        "condition",
        "high",
        "open",
    )
    assert (alert["count"], alert["unit_id"], alert["title"]) == (2, None, "A condition")
    detail = await alert_detail(client, owner.headers, alert["id"])
    assert sorted(match["document_id"] for match in detail["matches"]["items"]) == sorted(
        [cases["0"]["id"], cases["1"]["id"]]
    )
    assert all(match["is_case"] and match["case_number"].startswith("C-") for match in detail["matches"]["items"])
    assert len(await events_of(app, owner.org_id, "alert.raised")) == 1
    assert await notifications_of(app, owner.user_id) == 1

    # Imported again with new text: both cases are indexed and enriched again, and match again, in the same window.
    await import_batch(client, owner, rows(FRAUD, CHARGED_TWICE, INVOICE_COPY, APP_CRASH, suffix=" Again."), MAPPING)

    [again] = await alerts_of(client, owner.headers)
    assert (again["id"], again["count"]) == (alert["id"], 2)
    assert len(await events_of(app, owner.org_id, "alert.raised")) == 1
    assert await notifications_of(app, owner.user_id) == 1


async def test_a_search_rule_fires_as_cases_become_searchable(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await create_rule(client, owner.headers, search_rule("charged twice", mode="keyword"))
    await create_rule(client, owner.headers, search_rule("charged twice", mode="keyword", filters={"tags_any": ["x"]}))

    await import_batch(client, owner, rows(FRAUD, CHARGED_TWICE, INVOICE_COPY), MAPPING, enrich="false")

    cases = {case["external_id"]: case["id"] for case in await all_records(client, owner.headers)}
    [alert] = await alerts_of(client, owner.headers)
    detail = await alert_detail(client, owner.headers, alert["id"])
    assert [match["document_id"] for match in detail["matches"]["items"]] == [cases["1"]]


async def test_a_search_rule_fires_when_a_matching_document_is_ingested(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    keyword = await create_rule(client, owner.headers, search_rule('"credit card" chargeback -refund', mode="keyword"))
    vector = await create_rule(
        client, owner.headers, search_rule("disputed card payment", mode="vector", min_score=0.3)
    )
    tagged = await create_rule(
        client, owner.headers, search_rule("chargeback", mode="keyword", filters={"tags_all": ["finance"]})
    )
    documents = {
        "dispute": Doc(
            "dispute.txt",
            "The customer opened a chargeback on their credit card for the annual plan.",
            tags=["finance"],
        ),
        "refunded": Doc("refunded.txt", "A chargeback on the credit card was settled with a refund."),
        "garden": Doc("garden.txt", "Water tomato plants early in the morning and mulch the beds in summer."),
    }
    ids, _ = await ingest(client, owner, documents)

    found: dict[str, tuple[list[str], list[float | None]]] = {}
    for alert in await alerts_of(client, owner.headers):
        items = (await alert_detail(client, owner.headers, alert["id"]))["matches"]["items"]
        found[alert["rule_id"]] = (
            sorted(match["document_id"] for match in items),
            [match["score"] for match in items],
        )
    assert found[keyword["id"]][0] == [str(ids["dispute"])]
    assert found[tagged["id"]][0] == [str(ids["dispute"])]
    assert str(ids["garden"]) not in found[vector["id"]][0]
    assert str(ids["dispute"]) in found[vector["id"]][0]
    assert all(score is not None and score >= 0.3 for score in found[vector["id"]][1])


async def test_a_retried_step_adds_nothing_and_a_new_window_raises_a_new_alert(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    await create_rule(client, owner.headers, condition_rule(HIGH_BILLING, throttle_minutes=60))
    matching, other = await write_cases(app, owner.org_id, [Case(labels=BILLING), Case(labels={"category": "x"})])
    now = datetime(2031, 3, 4, 10, 15, tzinfo=UTC)

    for moment in (now, now, now + timedelta(minutes=44)):  # a step, its retry, the same case later in the window
        async with app.state.sessionmaker() as session, session.begin():
            await evaluate_enriched(session, org_id=owner.org_id, document_ids=[matching, other], now=moment)
    [(first, items)] = await stored_alerts(app, owner.org_id)
    assert (first.count, items) == (1, [matching])
    assert (
        (first.window_start, first.window_end)
        == window_of(60, now)
        == (now.replace(minute=0), now.replace(minute=0) + timedelta(hours=1))
    )

    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_enriched(session, org_id=owner.org_id, document_ids=[matching], now=now + timedelta(minutes=45))
    alerts = await stored_alerts(app, owner.org_id)
    assert [(alert.window_start.hour, alert.count, items) for alert, items in alerts] == [
        (10, 1, [matching]),
        (11, 1, [matching]),
    ]
    assert len(await events_of(app, owner.org_id, "alert.raised")) == 2


async def test_a_failed_step_leaves_no_alert(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await create_rule(client, owner.headers, condition_rule(HIGH_BILLING))
    [case] = await write_cases(app, owner.org_id, [Case(labels=BILLING)])

    async with app.state.sessionmaker() as session:
        await evaluate_enriched(session, org_id=owner.org_id, document_ids=[case])
        await session.rollback()

    assert await stored_alerts(app, owner.org_id) == []
    assert await events_of(app, owner.org_id, "alert.raised") == []


async def test_conditions_on_case_fields_and_labels(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    conditions: dict[str, dict[str, Any]] = {
        "urgent": {"field": "priority", "op": "gte", "value": "high"},
        "risky": {"field": "risk_flag", "op": "eq", "value": True},
        "angry_billing": {
            "all": [
                {"field": "sentiment", "op": "eq", "value": "negative"},
                {"field": "category", "op": "in", "value": ["billing", "refund_return"]},
            ]
        },
        "not_low": {"not": {"field": "severity", "op": "eq", "value": "low"}},
        "unsure": {
            "any": [
                {"field": "confidence", "op": "lt", "value": 0.5},
                {"field": "needs_review", "op": "eq", "value": True},
            ]
        },
        "no_channel": {"field": "channel", "op": "ne", "value": "email"},
    }
    rules = {
        name: (await create_rule(client, owner.headers, condition_rule(condition, name=name)))["id"]
        for name, condition in conditions.items()
    }
    cases = {
        "urgent_plain": Case(priority=CasePriority.URGENT),
        "risky_billing": Case(
            labels={
                "risk_flag": True,
                "sentiment": "negative",
                "category": "billing",
                "severity": "critical",
                "confidence": 0.9,
            }
        ),
        "calm_refund": Case(
            labels={
                "risk_flag": False,
                "sentiment": "neutral",
                "category": "refund_return",
                "severity": "low",
                "confidence": 0.4,
            }
        ),
        "string_flag": Case(
            labels={"risk_flag": "true", "sentiment": "negative", "category": "shipping", "severity": "medium"}
        ),
    }
    ids = dict(zip(cases, await write_cases(app, owner.org_id, list(cases.values())), strict=True))

    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_indexed(session, org_id=owner.org_id, document_ids=list(ids.values()))

    by_id = {value: key for key, value in ids.items()}
    matched = {
        alert.rule_id: sorted(by_id[item] for item in items) for alert, items in await stored_alerts(app, owner.org_id)
    }
    assert {name: matched.get(UUID(rule_id), []) for name, rule_id in rules.items()} == {
        "urgent": ["urgent_plain"],
        # A JSON true, not the string "true".
        "risky": ["risky_billing"],
        "angry_billing": ["risky_billing"],
        # A case without labels has no severity: neither `low` nor `not low`.
        "not_low": ["risky_billing", "string_flag"],
        "unsure": ["calm_refund"],
        # No channel is unknown, not "not email".
        "no_channel": [],
    }


async def test_enrichment_evaluates_only_the_conditions_on_labels(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await create_rule(client, owner.headers, condition_rule({"field": "priority", "op": "eq", "value": "urgent"}))
    [case] = await write_cases(app, owner.org_id, [Case(priority=CasePriority.URGENT, labels=BILLING)])

    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_enriched(session, org_id=owner.org_id, document_ids=[case])
    assert await stored_alerts(app, owner.org_id) == []

    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_indexed(session, org_id=owner.org_id, document_ids=[case])
    assert len(await stored_alerts(app, owner.org_id)) == 1


async def test_alerts_are_per_unit_and_a_rule_watches_only_its_units(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    north = await make_unit(app, owner.org_id, "North")
    south = await make_unit(app, owner.org_id, "South")
    everywhere = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING))
    northern = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING, unit_ids=[str(north)]))
    disabled = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING, enabled=False))
    ids = await write_cases(
        app,
        owner.org_id,
        [Case(unit_id=north, labels=BILLING), Case(unit_id=south, labels=BILLING), Case(labels=BILLING)],
    )

    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_indexed(session, org_id=owner.org_id, document_ids=ids)

    found = sorted(
        (str(alert.rule_id), str(alert.unit_id), items) for alert, items in await stored_alerts(app, owner.org_id)
    )
    assert found == sorted(
        [
            (everywhere["id"], str(north), [ids[0]]),
            (everywhere["id"], str(south), [ids[1]]),
            (everywhere["id"], "None", [ids[2]]),
            (northern["id"], str(north), [ids[0]]),
        ]
    )
    assert disabled["id"] not in {rule_id for rule_id, _, _ in found}


async def test_an_sla_rule_fires_when_a_case_passes_its_due_time(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    supervisor = await member(client, owner, "supervisor")
    viewer = await member(client, owner, "viewer")
    await create_rule(client, owner.headers, condition_rule({"field": "sla_breached", "op": "eq", "value": True}))
    # Far ahead, so that the app's own periodic evaluation (at the real time) finds none of these cases due.
    now = datetime(2040, 1, 1, 10, 20, tzinfo=UTC)
    late, resolved, later, on_time = await write_cases(
        app,
        owner.org_id,
        [
            Case(due_at=now - timedelta(minutes=5)),
            Case(due_at=now - timedelta(minutes=5)),
            Case(due_at=now + timedelta(minutes=2)),
            Case(due_at=now + timedelta(days=1)),
        ],
    )
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(Record).where(Record.document_id == resolved).values(case_status=CaseStatus.RESOLVED)
        )

    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_periodic(session, org_id=owner.org_id, now=now)
    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_periodic(session, org_id=owner.org_id, now=now + timedelta(minutes=1))
    [(alert, items)] = await stored_alerts(app, owner.org_id)
    assert (alert.count, items) == (1, [late])

    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_periodic(session, org_id=owner.org_id, now=now + timedelta(minutes=3))
    [(alert, items)] = await stored_alerts(app, owner.org_id)
    assert (alert.count, items) == (2, [late, later])
    # Supervisors and above are told, once; viewers are not.
    assert await notifications_of(app, supervisor.user_id) == 1
    assert await notifications_of(app, viewer.user_id) == 0


async def test_a_rules_chosen_members_are_notified_only_of_the_units_they_see(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    north_viewer = await member(client, owner, "viewer")
    south_viewer = await member(client, owner, "viewer")
    unrestricted = await member(client, owner, "viewer")
    north = await make_unit(app, owner.org_id, "North", north_viewer)
    await make_unit(app, owner.org_id, "South", south_viewer)
    chosen = [str(account.user_id) for account in (north_viewer, south_viewer, unrestricted)]
    await create_rule(client, owner.headers, condition_rule(HIGH_BILLING, notify=chosen))
    ids = await write_cases(app, owner.org_id, [Case(unit_id=north, labels=BILLING), Case(labels=BILLING)])

    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_indexed(session, org_id=owner.org_id, document_ids=ids)

    assert len(await stored_alerts(app, owner.org_id)) == 2  # North's, and the unit-less case's
    assert await notifications_of(app, north_viewer.user_id) == 1
    assert await notifications_of(app, south_viewer.user_id) == 0
    assert await notifications_of(app, unrestricted.user_id) == 2
    # The rule chose its members: the owner, a supervisor and above, is not told.
    assert await notifications_of(app, owner.user_id) == 0


@pytest.mark.usefixtures("held_clock")
async def test_a_case_people_raise_to_urgent_alerts_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    rule = await create_rule(
        client, owner.headers, condition_rule({"field": "priority", "op": "gte", "value": "urgent"}, name="urgent")
    )
    calm, other = await write_cases(app, owner.org_id, [Case(), Case()])
    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_indexed(session, org_id=owner.org_id, document_ids=[calm, other])
    assert await stored_alerts(app, owner.org_id) == []

    raised = await client.patch(f"/api/v1/cases/{calm}", json={"priority": "urgent"}, headers=owner.headers)
    assert raised.status_code == 200, raised.text
    [(alert, items)] = await stored_alerts(app, owner.org_id)
    assert (alert.rule_id, items) == (UUID(rule["id"]), [calm])
    # Lowered and raised again, and raised in bulk with another: each case is a match once in the window.
    for priority in ("normal", "urgent"):
        changed = await client.patch(f"/api/v1/cases/{calm}", json={"priority": priority}, headers=owner.headers)
        assert changed.status_code == 200, changed.text
    bulk = await client.post(
        "/api/v1/cases/bulk",
        json={"ids": [str(calm), str(other)], "changes": {"priority": "urgent"}},
        headers=owner.headers,
    )
    assert bulk.status_code == 200, bulk.text
    [(alert, items)] = await stored_alerts(app, owner.org_id)
    assert sorted(items) == sorted([calm, other])
