"""Generated organizations, business units, members and cases: a member limited to units never sees a case of
another unit (nor of none) through any endpoint that reads cases — the case list and lookups, history and
comments, documents, search, answers, the feed, alerts, the inbox and analytics — while an unlimited member sees them
all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.factories import Account, add_member, register
from tests.records.conftest import csv_bytes, import_batch
from tests.units.helpers import create_unit, set_units

CASES = "/api/v1/cases"
UNITS = ("North", "South", "East")
ROLES = ("viewer", "editor", "supervisor")
# A row's unit: one of the organization's, none, or a name the organization does not have (a case of no unit).
NOWHERE, UNKNOWN = "", "Atlantis"


@dataclass(frozen=True)
class Plan:
    units: int
    members: list[tuple[str, frozenset[int]]]  # role, the units it is limited to (empty: none)
    cases: list[str]  # each case's unit name, NOWHERE or UNKNOWN


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    units = draw(st.integers(2, len(UNITS)), label="units")
    limits = st.frozensets(st.integers(0, units - 1), max_size=units)
    members = draw(st.lists(st.tuples(st.sampled_from(ROLES), limits), min_size=2, max_size=3), label="members")
    names = st.sampled_from([*UNITS[:units], NOWHERE, UNKNOWN])
    cases = draw(st.lists(names, min_size=3, max_size=8), label="cases")
    return Plan(units, members, cases)


async def _all(client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = await client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert response.status_code == 200, f"{path}: {response.text}"
        items += response.json()["items"]
        if (cursor := response.json()["next_cursor"]) is None:
            return items


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


# No shrinking: each example is a whole organization built over HTTP, and the labelled draws explain a failure.
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(plan=plans())
async def test_a_limited_member_never_sees_a_case_of_another_unit(client: httpx.AsyncClient, plan: Plan) -> None:
    owner = await register(client)
    unit_ids = [(await create_unit(client, owner, name))["id"] for name in UNITS[: plan.units]]
    members: list[tuple[Account, frozenset[str] | None]] = []
    for role, limit in plan.members:
        member = await register(client)
        await add_member(client, owner, member, role)
        limited = frozenset(unit_ids[index] for index in limit)
        if limited:
            await set_units(client, owner, member, *limited)
        members.append((member, limited or None))
    # A rule that every case matches: each unit's cases raise that unit's alert.
    rule = {
        "name": "Everything",
        "definition": {"kind": "condition", "condition": {"field": "priority", "op": "gte", "value": "low"}},
        "severity": "high",
    }
    await _ok(await client.post("/api/v1/alerts/rules", json=rule, headers=owner.headers))
    rows = [f"c{index},A refund request about order {index}.,{unit}" for index, unit in enumerate(plan.cases)]
    mapping = {"external_id": "id", "text": "message", "business_unit": "unit"}
    await import_batch(client, owner, csv_bytes("id,message,unit", *rows), mapping)
    unit_of_name = dict(zip(UNITS, unit_ids, strict=False))
    cases = {case["id"]: case["unit_id"] for case in await _all(client, CASES, owner.headers)}
    assert sorted(cases.values(), key=str) == sorted((unit_of_name.get(name) for name in plan.cases), key=str), (
        "every row became a case of its unit (or of none)"
    )
    for case_id, unit in cases.items():
        sees = [member.user_id for member, units in members if units is None or unit in units]
        comment = {"body": "Please look at this one.", "mentions": [str(user) for user in sees]}
        await _ok(await client.post(f"{CASES}/{case_id}/comments", json=comment, headers=owner.headers))
        await _ok(await client.patch(f"{CASES}/{case_id}", json={"priority": "high"}, headers=owner.headers))

    for member, units in members:
        headers = member.in_org(owner.org_id)
        visible = {case_id for case_id, unit in cases.items() if units is None or unit in units}
        hidden = set(cases) - visible

        assert {case["id"] for case in await _all(client, CASES, headers)} == visible
        for case_id in cases:
            for path in (f"{CASES}/{case_id}", f"{CASES}/{case_id}/history", f"{CASES}/{case_id}/comments"):
                answer = await client.get(path, headers=headers)
                assert answer.status_code == (200 if case_id in visible else 404), f"{path}: {answer.text}"
        documents = {document["id"] for document in await _all(client, "/api/v1/documents", headers)}
        assert documents == visible
        searched = await _ok(
            await client.post("/api/v1/search", json={"query": "refund order", "top_k": 50}, headers=headers)
        )
        assert {hit["document_id"] for hit in searched["items"]} <= visible
        answered = await _ok(
            await client.post("/api/v1/answers", json={"question": "Which refund requests?"}, headers=headers)
        )
        assert {source["document_id"] for source in answered["sources"]} <= visible
        feed = await _all(client, "/api/v1/feed", headers)
        assert not {item["subject"]["id"] for item in feed} & hidden
        for alert in await _all(client, "/api/v1/alerts", headers):
            assert units is None or alert["unit_id"] in units
            detail = await _ok(await client.get(f"/api/v1/alerts/{alert['id']}", headers=headers))
            assert {match["document_id"] for match in detail["matches"]["items"]} <= visible
        inbox = await _all(client, "/api/v1/inbox", headers)
        about_cases = {item["subject"]["id"] for item in inbox if (item["subject"] or {}).get("type") == "case"}
        assert about_cases == visible, "mentioned on every case it sees, on none other"
        shared = await client.post(
            "/api/v1/shares",
            json={"item_type": "case", "item_id": next(iter(hidden or visible)), "recipients": [str(owner.user_id)]},
            headers=headers,
        )
        assert shared.status_code == (404 if hidden else 201), shared.text
        overview = await _ok(await client.get("/api/v1/analytics/overview", headers=headers))
        assert overview["cases"]["opened"] == len(visible)
        assert sum(item["count"] for item in overview["cases"]["by_unit"]) == len(visible)
        series = await _ok(
            await client.get("/api/v1/analytics/timeseries", params={"group_by": "unit"}, headers=headers)
        )
        assert {item["key"] for item in series["series"]} <= (units or set(unit_ids)) | {None}
        assert sum(series["total"]) == len(visible)
