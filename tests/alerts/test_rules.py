"""Alert rules: made, read, changed and deleted by bu_managers and above (over their own units when limited to some),
validated and bounded."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from folio.alerts.service import MAX_RULES_PER_ORG
from folio.models import AlertRule, AlertRuleKind, AlertSeverity
from tests.alerts.conftest import (
    RULES,
    condition_rule,
    create_rule,
    make_unit,
    member,
    search_rule,
    spike_rule,
)
from tests.apps import serve
from tests.connections import lent_to_requests
from tests.factories import error_of, register

HIGH_BILLING = {
    "all": [
        {"field": "severity", "op": "gte", "value": "high"},
        {"field": "category", "op": "eq", "value": "billing"},
    ]
}


async def test_an_admin_creates_reads_changes_and_deletes_a_rule(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    rule = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING, severity="high", throttle_minutes=30))

    assert rule["kind"] == "condition"
    assert rule["definition"] == {"kind": "condition", "condition": HIGH_BILLING}
    assert (rule["severity"], rule["throttle_minutes"], rule["enabled"], rule["unit_ids"]) == ("high", 30, True, None)
    assert rule["created_by"] == str(owner.user_id)
    read = await client.get(f"{RULES}/{rule['id']}", headers=owner.headers)
    assert read.json() == rule
    listed = await client.get(RULES, headers=owner.headers)
    assert [item["id"] for item in listed.json()["items"]] == [rule["id"]]

    changed = await client.patch(
        f"{RULES}/{rule['id']}", json={"enabled": False, "name": " Renamed "}, headers=owner.headers
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["enabled"], changed.json()["name"], changed.json()["definition"]) == (
        False,
        "Renamed",
        rule["definition"],
    )

    deleted = await client.delete(f"{RULES}/{rule['id']}", headers=owner.headers)
    assert deleted.status_code == 204
    error_of(await client.get(f"{RULES}/{rule['id']}", headers=owner.headers), 404, "ALERT_RULE_NOT_FOUND")


async def test_a_search_rule_keeps_its_query_vector_and_a_spike_or_sla_rule_is_periodic(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    search = await create_rule(client, owner.headers, search_rule("chargeback dispute", min_score=0.6))
    spike = await create_rule(client, owner.headers, spike_rule("term", term="outage"))
    sla = await create_rule(client, owner.headers, condition_rule({"field": "sla_breached", "op": "eq", "value": True}))
    plain = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING))

    assert search["definition"] == {
        "kind": "search",
        "query": "chargeback dispute",
        "mode": "hybrid",
        "min_score": 0.6,
        "filters": {},
    }
    async with app.state.sessionmaker() as session:
        rules = {rule.id.hex: rule for rule in (await session.scalars(select(AlertRule))).all()}
    vector = rules[search["id"].replace("-", "")].query_embedding
    assert vector is not None
    assert len(vector) == 384
    periodic = {rule["id"]: rules[rule["id"].replace("-", "")].periodic for rule in (search, spike, sla, plain)}
    assert periodic == {search["id"]: False, spike["id"]: True, sla["id"]: True, plain["id"]: False}

    # Changing the query embeds it again; changing a condition to a search, too.
    await client.patch(
        f"{RULES}/{plain['id']}",
        json={"definition": {"kind": "search", "query": "refund"}},
        headers=owner.headers,
    )
    async with app.state.sessionmaker() as session:
        now_search = await session.get(AlertRule, rules[plain["id"].replace("-", "")].id)
        assert now_search is not None
        assert now_search.kind is AlertRuleKind.SEARCH
        assert now_search.query_embedding is not None


async def test_the_query_is_embedded_with_no_connection_held(own_database_url: str) -> None:
    # An app of the test's own, on a database with no document: nothing else embeds while the probe is in place.
    async with serve(own_database_url) as (app, client):
        owner = await register(client)
        provider = app.state.embedder.get()
        embed, lent = provider.embed, []
        with lent_to_requests(app) as connections:

            async def probed(texts: list[str]) -> Any:
                lent.append(connections.to_this_request())
                return await embed(texts)

            provider.embed = probed
            try:
                await create_rule(client, owner.headers, search_rule("late delivery"))
                rule = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING))
                await client.patch(
                    f"{RULES}/{rule['id']}",
                    json={"definition": {"kind": "search", "query": "x"}},
                    headers=owner.headers,
                )
            finally:
                provider.embed = embed
        assert lent == [0, 0]


@pytest.mark.parametrize("role", ["viewer", "editor", "supervisor"])
async def test_members_below_bu_manager_cannot_manage_rules(client: httpx.AsyncClient, role: str) -> None:
    owner = await register(client)
    rule = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING))
    headers = (await member(client, owner, role)).in_org(owner.org_id)

    error_of(await client.post(RULES, json=condition_rule(HIGH_BILLING), headers=headers), 403, "FORBIDDEN")
    patch = await client.patch(f"{RULES}/{rule['id']}", json={"enabled": False}, headers=headers)
    error_of(patch, 403, "FORBIDDEN")
    error_of(await client.delete(f"{RULES}/{rule['id']}", headers=headers), 403, "FORBIDDEN")
    # They may read them.
    assert (await client.get(f"{RULES}/{rule['id']}", headers=headers)).status_code == 200


async def test_a_bu_manager_limited_to_units_makes_rules_over_their_units_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    manager = await member(client, owner, "bu_manager")
    headers = manager.in_org(owner.org_id)
    north = await make_unit(app, owner.org_id, "North", manager)
    south = await make_unit(app, owner.org_id, "South")
    everywhere = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING))
    in_south = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING, unit_ids=[str(south)]))

    for unit_ids in (None, [str(south)], [str(north), str(south)]):
        refused = await client.post(RULES, json=condition_rule(HIGH_BILLING, unit_ids=unit_ids), headers=headers)
        error_of(refused, 403, "ALERT_RULE_UNITS_FORBIDDEN")
    own = await create_rule(client, headers, condition_rule(HIGH_BILLING, unit_ids=[str(north)]))
    widened = await client.patch(f"{RULES}/{own['id']}", json={"unit_ids": None}, headers=headers)
    error_of(widened, 403, "ALERT_RULE_UNITS_FORBIDDEN")

    # The rules over every unit, or over another, are not theirs to see or change.
    listed = await client.get(RULES, headers=headers)
    assert [item["id"] for item in listed.json()["items"]] == [own["id"]]
    for other in (everywhere, in_south):
        error_of(await client.get(f"{RULES}/{other['id']}", headers=headers), 404, "ALERT_RULE_NOT_FOUND")
        patch = await client.patch(f"{RULES}/{other['id']}", json={"enabled": False}, headers=headers)
        error_of(patch, 404, "ALERT_RULE_NOT_FOUND")
        error_of(await client.delete(f"{RULES}/{other['id']}", headers=headers), 404, "ALERT_RULE_NOT_FOUND")
    # An unrestricted bu_manager watches every unit.
    boss = (await member(client, owner, "bu_manager")).in_org(owner.org_id)
    assert (await client.post(RULES, json=condition_rule(HIGH_BILLING), headers=boss)).status_code == 201


async def test_another_orgs_rules_units_and_members_are_not_found(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, stranger = await register(client), await register(client)
    theirs = await create_rule(client, stranger.headers, condition_rule(HIGH_BILLING))
    their_unit = await make_unit(app, stranger.org_id, "Theirs")

    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method, f"{RULES}/{theirs['id']}", json={"enabled": False}, headers=owner.headers
        )
        error_of(response, 404, "ALERT_RULE_NOT_FOUND")
    unknown = await client.post(
        RULES, json=condition_rule(HIGH_BILLING, unit_ids=[str(their_unit)]), headers=owner.headers
    )
    assert error_of(unknown, 422, "ALERT_RULE_UNKNOWN_UNIT")["details"] == {"unit_ids": [str(their_unit)]}
    outsider = await client.post(
        RULES, json=condition_rule(HIGH_BILLING, notify=[str(stranger.user_id)]), headers=owner.headers
    )
    assert error_of(outsider, 422, "ALERT_RULE_RECIPIENT_NOT_MEMBER")["details"] == {"notify": [str(stranger.user_id)]}


def _nested(levels: int) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": "priority", "op": "eq", "value": "high"}
    for _ in range(levels - 1):
        condition = {"not": condition}
    return condition


@pytest.mark.parametrize(
    "definition",
    [
        {"kind": "condition", "condition": {"field": "mood", "op": "eq", "value": "sad"}},
        {"kind": "condition", "condition": {"field": "severity", "op": "gte", "value": "huge"}},
        {"kind": "condition", "condition": {"field": "category", "op": "gte", "value": "billing"}},
        {"kind": "condition", "condition": {"field": "risk_flag", "op": "eq", "value": "yes"}},
        {"kind": "condition", "condition": {"field": "priority", "op": "in", "value": "high"}},
        {"kind": "condition", "condition": {"field": "priority", "op": "in", "value": ["high"] * 21}},
        {"kind": "condition", "condition": {"field": "confidence", "op": "gte", "value": True}},
        {"kind": "condition", "condition": {"field": "channel", "op": "eq", "value": "x" * 101}},
        {"kind": "condition", "condition": {"field": "channel", "op": "eq", "value": "a\x00b"}},
        {"kind": "condition", "condition": {"all": []}},
        {"kind": "condition", "condition": {"all": [{"field": "priority", "op": "eq", "value": "high"}], "x": 1}},
        {"kind": "condition", "condition": _nested(6)},
        {"kind": "condition", "condition": _nested(60)},
        {"kind": "condition", "condition": {"any": [{"field": "priority", "op": "eq", "value": "low"}] * 21}},
        {
            "kind": "condition",
            "condition": {"all": [{"any": [{"field": "priority", "op": "eq", "value": "low"}] * 11}] * 2},
        },
        {"kind": "search", "query": "x" * 501},
        {"kind": "search", "query": "   "},
        {"kind": "search", "query": "refund", "min_score": 1.5},
        {"kind": "search", "query": "refund", "filters": {"file_types": ["exe"]}},
        {"kind": "spike", "group_by": "term"},
        {"kind": "spike", "group_by": "unit", "term": "outage"},
        {"kind": "spike", "group_by": "unit", "window_minutes": 10080, "baseline_windows": 168},
        {"kind": "spike", "group_by": "unit", "alpha": 0.5},
        {"kind": "alarm"},
    ],
)
async def test_an_invalid_definition_is_refused(client: httpx.AsyncClient, definition: dict[str, Any]) -> None:
    owner = await register(client)
    response = await client.post(RULES, json={"name": "Bad", "definition": definition}, headers=owner.headers)
    error_of(response, 422, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "x" * 101},
        {"name": "nul\x00"},
        {"throttle_minutes": 0},
        {"throttle_minutes": 7 * 24 * 60 + 1},
        {"unit_ids": []},
        {"unit_ids": [str(uuid4()) for _ in range(51)]},
        {"notify": [str(uuid4()) for _ in range(21)]},
        {"severity": "apocalyptic"},
        {"extra": True},
    ],
)
async def test_invalid_rule_fields_are_refused(client: httpx.AsyncClient, fields: dict[str, Any]) -> None:
    owner = await register(client)
    response = await client.post(RULES, json=condition_rule(HIGH_BILLING) | fields, headers=owner.headers)
    error_of(response, 422, "VALIDATION_ERROR")


async def test_patch_refuses_nulls_except_for_units(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    rule = await create_rule(client, owner.headers, condition_rule(HIGH_BILLING))
    for field in ("name", "severity", "definition", "enabled"):
        response = await client.patch(f"{RULES}/{rule['id']}", json={field: None}, headers=owner.headers)
        error_of(response, 422, "VALIDATION_ERROR")


async def test_an_organization_has_a_bounded_number_of_rules(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    async with app.state.sessionmaker() as session, session.begin():
        for number in range(MAX_RULES_PER_ORG - 1):
            session.add(
                AlertRule(
                    org_id=owner.org_id,
                    name=f"rule {number}",
                    kind=AlertRuleKind.CONDITION,
                    severity=AlertSeverity.LOW,
                    throttle_minutes=60,
                    definition={"kind": "condition", "condition": HIGH_BILLING},
                )
            )
    await create_rule(client, owner.headers, condition_rule(HIGH_BILLING))
    refused = await client.post(RULES, json=condition_rule(HIGH_BILLING), headers=owner.headers)
    assert error_of(refused, 409, "TOO_MANY_ALERT_RULES")["details"] == {"limit": MAX_RULES_PER_ORG}
    # Another organization is not held back.
    assert (
        await client.post(RULES, json=condition_rule(HIGH_BILLING), headers=(await register(client)).headers)
    ).status_code == 201
