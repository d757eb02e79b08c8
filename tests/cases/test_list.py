"""GET /api/v1/cases on imported cases: their fields, filters (saved views aside), paging, search, scopes and
tenancy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from folio.models import Record
from tests.cases.conftest import CASES, make_unit
from tests.factories import Account, add_member, create_api_key, error_of, register
from tests.records.conftest import BATCHES, all_records, csv_bytes, import_batch, upload

MAPPING = {
    "external_id": "id",
    "text": "message",
    "created_at": "date",
    "channel": "source",
    "customer": "customer",
    "business_unit": "unit",
    "title": "subject",
    "priority": "prio",
    "region": "region",
}
HEADER = "id,message,date,source,customer,unit,subject,prio,region"
FIRST_BATCH = [
    'r1,"This is fraud. My lawyer will take you to court over the charges you took without my permission.",'
    "2026-01-10T09:30:00+02:00,email,Acme,EMEA,Legal threat,high,north",
    'r2,"Thank you so much! Your support team was wonderful and solved everything quickly.",'
    "2026-02-01,chat,Globex,NA,,low,south",
    'r3,"Hello, could you tell me which payment methods you accept for the annual plan?",'
    "2026-02-15T12:00:00Z,email,Acme,NA,,,north",
    'r4,"I was charged twice for the same invoice this month, please refund the double charge.",'
    "2026-03-01,phone,Initech,EMEA,,high,",
    'r5,"The mobile app crashes every time I open the settings page.",,chat,Acme,APAC,,,',
    'r6,"Someone hacked my account and there was a data breach of my personal details.",'
    "2026-03-20,email,Globex,EMEA,,high,south",
]
SECOND_BATCH = [
    'r7,"My parcel is two weeks late and tracking shows nothing.",2026-04-02,email,Initech,NA,,,',
    'r8,"Please add a dark mode to the dashboard, it would be great.",2026-04-03,chat,Globex,APAC,,low,',
]


@dataclass
class World:
    """One organization with two imported batches, worked a little as cases; a second organization beside it."""

    client: httpx.AsyncClient
    owner: Account
    editor: Account
    viewer: Account
    outsider: Account
    first: dict[str, Any]
    second: dict[str, Any]
    theirs: dict[str, Any]
    units: dict[str, UUID]  # by name
    records: dict[str, dict[str, Any]]  # by external id, as listed after the set-up

    def id(self, external_id: str) -> str:
        return str(self.records[external_id]["id"])

    @staticmethod
    def external_ids(records: list[dict[str, Any]]) -> set[str]:
        ids = {str(record["external_id"]) for record in records}
        assert len(ids) == len(records), "a record listed twice"
        return ids


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's records live until it ends (see `world`); tests that change records make their own."""


@pytest.fixture(scope="module")
async def world(app: FastAPI, _empty_tables_at_the_end: None) -> AsyncIterator[World]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        owner, editor, viewer, outsider = [await register(client) for _ in range(4)]
        await add_member(client, owner, editor, "editor")
        await add_member(client, owner, viewer, "viewer")
        units = {name: await make_unit(app, owner.org_id, name) for name in ("EMEA", "NA", "APAC")}
        first = await import_batch(client, owner, csv_bytes(HEADER, *FIRST_BATCH), MAPPING)
        second = await import_batch(client, owner, csv_bytes(HEADER, *SECOND_BATCH), MAPPING)
        # The other organization has records that would match most filters below.
        theirs = await import_batch(client, outsider, csv_bytes(HEADER, FIRST_BATCH[0], SECOND_BATCH[1]), MAPPING)
        listed = {record["external_id"]: record for record in await all_records(client, owner.headers)}
        for external_id, change in [
            ("r1", {"status": "in_progress", "assigned_to": str(editor.user_id)}),
            ("r2", {"status": "resolved", "assigned_to": str(owner.user_id)}),
            ("r4", {"assigned_to": str(editor.user_id)}),
        ]:
            response = await client.patch(f"{CASES}/{listed[external_id]['id']}", json=change, headers=owner.headers)
            assert response.status_code == 200, response.text
        # r3 is past its due time, and so is r2, which is resolved (so not overdue).
        async with app.state.sessionmaker() as session, session.begin():
            past = [UUID(listed[external_id]["id"]) for external_id in ("r2", "r3")]
            await session.execute(
                update(Record).where(Record.document_id.in_(past)).values(due_at=datetime(2026, 1, 1, tzinfo=UTC))
            )
        records = {record["external_id"]: record for record in await all_records(client, owner.headers)}
        yield World(client, owner, editor, viewer, outsider, first, second, theirs, units, records)


async def listed(world: World, **params: Any) -> set[str]:
    return world.external_ids(await all_records(world.client, world.owner.headers, **params))


def label(record: dict[str, Any], name: str) -> Any:
    [enrichment] = record["enrichments"]
    return enrichment["data"][name]


def confidence(record: dict[str, Any]) -> float:
    [enrichment] = record["enrichments"]
    value: float = enrichment["confidence"]
    return value


# Reading records.


async def test_a_record_carries_its_mapped_fields(world: World) -> None:
    assert set(world.records) == {f"r{number}" for number in range(1, 9)}
    r1 = world.records["r1"]
    assert r1["text"].startswith("This is fraud. My lawyer")
    assert (r1["title"], r1["channel"], r1["customer"], r1["unit_id"], r1["priority"]) == (
        "Legal threat",
        "email",
        "Acme",
        str(world.units["EMEA"]),
        "high",
    )
    assert r1["number"] == "C-000001"
    assert [world.records[f"r{number}"]["number"] for number in range(2, 9)] == [
        f"C-00000{number}" for number in range(2, 9)
    ]
    assert (world.records["r3"]["priority"], world.records["r3"]["overdue"]) == ("normal", True)
    assert (world.records["r2"]["status"], world.records["r2"]["overdue"]) == ("resolved", False)
    # The SLA runs from the row's own date: r1, of January and still open, is overdue; r5 has no date, so its
    # clock started at the import.
    assert world.records["r1"]["overdue"] is True
    assert world.records["r1"]["due_at"] == "2026-01-11T07:30:00Z"
    assert world.records["r5"]["overdue"] is False
    assert world.records["r5"]["unit_id"] == str(world.units["APAC"])
    assert r1["occurred_at"] == "2026-01-10T07:30:00Z"  # +02:00 read, shown in UTC
    assert r1["metadata"] == {"region": "north"}
    assert r1["batch_id"] == world.first["id"]
    assert r1["index_status"] == "ready"
    r5 = world.records["r5"]
    assert (r5["title"], r5["occurred_at"], r5["metadata"]) == ("r5", None, {})  # blank cells are left out
    assert world.records["r2"]["occurred_at"] == "2026-02-01T00:00:00Z"
    assert world.records["r7"]["batch_id"] == world.second["id"]

    as_viewer = world.viewer.in_org(world.owner.org_id)
    for ref in (world.id("r1"), "C-000001", "C-1", world.id("r1").replace("-", "")):
        one = await world.client.get(f"{CASES}/{ref}", headers=as_viewer)
        assert one.status_code == 200, one.text
        assert one.json() == r1
    for ref in (str(uuid4()), "C-000999", "C-0"):
        error_of(await world.client.get(f"{CASES}/{ref}", headers=world.owner.headers), 404, "CASE_NOT_FOUND")
    for ref in ("c-1", "C-", "C-1234567890123456", "123", "not-a-case"):
        error_of(await world.client.get(f"{CASES}/{ref}", headers=world.owner.headers), 422, "VALIDATION_ERROR")


async def test_records_are_listed_oldest_first_in_pages_that_never_skip_or_repeat(world: World) -> None:
    everything = await all_records(world.client, world.owner.headers)
    assert [record["external_id"] for record in everything] == [f"r{number}" for number in range(1, 9)]

    pages = [await all_records(world.client, world.owner.headers, limit=limit) for limit in (1, 3, 7, 8, 100)]

    for paged in pages:
        assert [record["id"] for record in paged] == [record["id"] for record in everything]
    first = await world.client.get(CASES, params={"limit": 3}, headers=world.owner.headers)
    assert len(first.json()["items"]) == 3
    assert first.json()["next_cursor"] is not None
    last = await world.client.get(CASES, params={"limit": 8}, headers=world.owner.headers)
    assert last.json()["next_cursor"] is None


async def test_field_filters_return_exactly_the_matching_records(world: World) -> None:
    created_second = min(world.records[key]["created_at"] for key in ("r7", "r8"))
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({"batch_id": world.first["id"]}, {"r1", "r2", "r3", "r4", "r5", "r6"}),
        ({"batch_id": world.second["id"]}, {"r7", "r8"}),
        ({"batch_id": world.theirs["id"]}, set()),
        ({"status": "open"}, {"r3", "r4", "r5", "r6", "r7", "r8"}),
        ({"status": "in_progress"}, {"r1"}),
        ({"status": "resolved"}, {"r2"}),
        ({"assigned_to": str(world.editor.user_id)}, {"r1", "r4"}),
        ({"assigned_to": str(world.owner.user_id)}, {"r2"}),
        ({"unassigned": "true"}, {"r3", "r5", "r6", "r7", "r8"}),
        ({"status": ["in_progress", "resolved"]}, {"r1", "r2"}),
        ({"unit_id": str(world.units["EMEA"])}, {"r1", "r4", "r6"}),
        ({"unit_id": [str(world.units["EMEA"]), str(world.units["NA"])]}, {"r1", "r2", "r3", "r4", "r6", "r7"}),
        ({"unit_id": str(uuid4())}, set()),
        ({"priority": "high"}, {"r1", "r4", "r6"}),
        ({"priority": ["low", "high"]}, {"r1", "r2", "r4", "r6", "r8"}),
        ({"overdue": "true"}, {"r1", "r3", "r4", "r6", "r7", "r8"}),
        ({"overdue": "false"}, {"r2", "r5"}),
        ({"priority": "normal", "overdue": "false"}, {"r5"}),
        ({"channel": "chat"}, {"r2", "r5", "r8"}),
        ({"customer": "Globex"}, {"r2", "r6", "r8"}),
        ({"external_id": "r4"}, {"r4"}),
        ({"external_id": "nope"}, set()),
        ({"occurred_after": "2026-02-15T12:00:00Z"}, {"r3", "r4", "r6", "r7", "r8"}),  # at or after
        ({"occurred_before": "2026-02-15T12:00:00Z"}, {"r1", "r2"}),
        ({"occurred_after": "2026-02-01T00:00:00Z", "occurred_before": "2026-03-02T00:00:00Z"}, {"r2", "r3", "r4"}),
        ({"created_after": created_second}, {"r7", "r8"}),
        ({"created_before": created_second}, {"r1", "r2", "r3", "r4", "r5", "r6"}),
        ({"channel": "email", "customer": "Acme"}, {"r1", "r3"}),
        ({"channel": "email", "status": "open", "unassigned": "true"}, {"r3", "r6", "r7"}),
    ]
    for params, expected in cases:
        assert await listed(world, **params) == expected, params


async def test_enrichment_filters_return_exactly_the_matching_records(world: World) -> None:
    records = world.records
    assert all(len(record["enrichments"]) == 1 for record in records.values())

    def where(test: Any) -> set[str]:
        return {key for key, record in records.items() if test(record)}

    critical = where(lambda record: label(record, "severity") == "critical")
    assert {"r1", "r6"} <= critical < set(records)  # the legal threat and the breach; not everything
    assert await listed(world, severity="critical") == critical
    assert await listed(world, severity="critical", channel="email") == critical & where(
        lambda record: record["channel"] == "email"
    )
    for value in ("negative", "positive", "neutral"):
        assert await listed(world, sentiment=value) == where(lambda r, v=value: label(r, "sentiment") == v), value
    assert "r2" in where(lambda record: label(record, "sentiment") == "positive")
    for category in {label(record, "category") for record in records.values()}:
        expected = where(lambda r, c=category: label(r, "category") == c)
        assert await listed(world, category=category) == expected, category
    assert await listed(world, category="no_such_category") == set()
    risky = where(lambda record: label(record, "risk_flag"))
    assert {"r1", "r6"} <= risky < set(records)
    assert await listed(world, risk_flag="true") == risky
    assert await listed(world, risk_flag="false") == set(records) - risky
    review = where(lambda record: record["enrichments"][0]["needs_review"])
    assert "r1" in review  # critical cases are always for a person
    assert await listed(world, needs_review="true") == review
    assert await listed(world, needs_review="false") == set(records) - review

    confidences = sorted(confidence(record) for record in records.values())
    middle = confidences[len(confidences) // 2]
    assert confidences[0] < middle
    assert await listed(world, min_confidence=middle) == where(lambda record: confidence(record) >= middle)
    assert await listed(world, max_confidence=middle) == where(lambda record: confidence(record) <= middle)
    assert await listed(world, min_confidence=0, max_confidence=1) == set(records)

    summary = label(records["r3"], "summary")
    assert await listed(world, field=f"summary:{summary}") == {"r3"}
    assert await listed(world, field="risk_flag:true") == risky  # JSON values are read as JSON
    both = {"field": ["risk_flag:true", f"summary:{label(records['r6'], 'summary')}"]}
    assert await listed(world, **both) == {"r6"}
    # The other organization's copy of r1 is as critical as the owner's; each sees only its own.
    theirs = await all_records(world.client, world.outsider.headers, severity="critical")
    assert world.external_ids(theirs) == {"r1"}
    assert theirs[0]["batch_id"] == world.theirs["id"]


async def test_bad_filters_are_refused(world: World) -> None:
    for params in (
        {"status": "shut"},
        {"priority": "whenever"},
        {"unit_id": "EMEA"},
        {"status": ["open"] * 6},
        {"view": "not-a-uuid"},
        {"min_confidence": "2"},
        {"field": "no-colon"},
        {"occurred_after": "last week"},
        {"batch_id": "not-a-uuid"},
        {"sevrity": "critical"},  # a misspelled filter would otherwise list every record
        {"field": "summary:\x00"},
        {"field": "summary:" + "x" * 593},  # 601 characters
    ):
        response = await world.client.get(CASES, params=params, headers=world.owner.headers)
        error_of(response, 422, "VALIDATION_ERROR")


async def test_a_field_filter_of_values_json_cannot_hold_is_text(world: World) -> None:
    for value in ("NaN", "Infinity", "1e999"):
        assert await listed(world, field=f"confidence:{value}") == set(), value
    assert await listed(world, field="summary:" + "x" * 592) == set()  # 600 characters


async def test_records_are_found_by_search_as_documents_of_type_record(world: World) -> None:
    async def search(filters: dict[str, Any], mode: str = "keyword") -> list[dict[str, Any]]:
        body = {"query": "charged twice double charge invoice", "mode": mode, "filters": filters}
        response = await world.client.post("/api/v1/search", json=body, headers=world.owner.headers)
        assert response.status_code == 200, response.text
        hits: list[dict[str, Any]] = response.json()["items"]
        return hits

    hits = await search({"file_types": ["record"]})
    assert hits[0]["document_id"] == world.id("r4")
    assert hits[0]["file_type"] == "record"
    assert hits[0]["document_title"] == "r4"
    assert "double charge" in hits[0]["text"]
    assert {hit["document_id"] for hit in hits} <= {record["id"] for record in world.records.values()}
    assert (await search({"file_types": ["record"]}, mode="hybrid"))[0]["document_id"] == world.id("r4")
    assert await search({"file_types": ["pdf"]}) == []
    # Metadata of the extra mapped roles is a search filter too.
    by_region = await search({"file_types": ["record"], "metadata": {"region": "north"}}, mode="hybrid")
    assert {hit["document_id"] for hit in by_region} == {world.id("r1"), world.id("r3")}


# Another organization, and roles.


async def test_another_organizations_batches_and_cases_are_404(world: World) -> None:
    client, outsider = world.client, world.outsider.headers
    record, batch = world.id("r1"), world.first["id"]

    error_of(await client.get(f"{BATCHES}/{batch}", headers=outsider), 404, "BATCH_NOT_FOUND")
    for path in (record, f"{record}/history", f"{record}/comments"):
        error_of(await client.get(f"{CASES}/{path}", headers=outsider), 404, "CASE_NOT_FOUND")
    patched = await client.patch(f"{CASES}/{record}", json={"status": "resolved"}, headers=outsider)
    error_of(patched, 404, "CASE_NOT_FOUND")
    commented = await client.post(f"{CASES}/{record}/comments", json={"body": "mine now"}, headers=outsider)
    error_of(commented, 404, "CASE_NOT_FOUND")
    bulk = await client.post(f"{CASES}/bulk", json={"ids": [record], "changes": {"priority": "low"}}, headers=outsider)
    assert error_of(bulk, 404, "CASE_NOT_FOUND")["details"]["id"] == record
    error_of(await client.get(f"/api/v1/documents/{record}", headers=outsider), 404, "DOCUMENT_NOT_FOUND")
    error_of(await client.get(f"/api/v1/documents/{record}/enrichments", headers=outsider), 404, "DOCUMENT_NOT_FOUND")
    error_of(
        await client.post(f"/api/v1/documents/{record}/enrich", json={}, headers=outsider), 404, "DOCUMENT_NOT_FOUND"
    )
    assert (await client.delete(f"/api/v1/documents/{record}", headers=outsider)).status_code == 204
    enrich = await client.post(f"{CASES}/enrich", json={"filters": {"batch_id": batch}}, headers=outsider)
    assert enrich.status_code == 202, enrich.text
    assert enrich.json() == {"job_id": None, "count": 0}

    theirs = await all_records(client, outsider)
    assert world.external_ids(theirs) == {"r1", "r8"}
    assert {item["batch_id"] for item in theirs} == {world.theirs["id"]}
    # Numbers are the organization's own: their C-000001 is their r1.
    assert [item["number"] for item in theirs] == ["C-000001", "C-000002"]
    assert (await client.get(f"{CASES}/C-000001", headers=outsider)).json()["id"] == theirs[0]["id"]
    assert await all_records(client, outsider, batch_id=batch) == []
    assert await all_records(client, outsider, external_id="r3") == []
    assert await all_records(client, outsider, unit_id=str(world.units["EMEA"])) == []
    batches = await client.get(BATCHES, headers=outsider)
    assert [item["id"] for item in batches.json()["items"]] == [world.theirs["id"]]
    search = await client.post(
        "/api/v1/search", json={"query": "fraud lawyer court", "mode": "keyword"}, headers=outsider
    )
    assert {hit["document_id"] for hit in search.json()["items"]} == {theirs[0]["id"]}

    # Nothing of the owner's changed, and the owner does not see the outsider's cases either.
    unchanged = await client.get(f"{CASES}/{record}", headers=world.owner.headers)
    assert unchanged.status_code == 200, unchanged.text
    assert unchanged.json()["status"] == "in_progress"
    error_of(await client.get(f"{CASES}/{theirs[0]['id']}", headers=world.owner.headers), 404, "CASE_NOT_FOUND")
    error_of(await client.get(f"{BATCHES}/{world.theirs['id']}", headers=world.owner.headers), 404, "BATCH_NOT_FOUND")
    error_of(await client.get(f"{BATCHES}/{uuid4()}", headers=world.owner.headers), 404, "BATCH_NOT_FOUND")


async def test_scopes_and_deleting_a_case(client: httpx.AsyncClient) -> None:
    owner, editor, viewer = [await register(client) for _ in range(3)]
    await add_member(client, owner, editor, "editor")
    await add_member(client, owner, viewer, "viewer")
    as_editor, as_viewer = editor.in_org(owner.org_id), viewer.in_org(owner.org_id)
    content = csv_bytes("id,text", "c1,The zeppelin order is late", "c2,Another case")
    # An editor may upload; what follows is the editor's batch.
    batch = await import_batch(client, owner, content, {"text": "text", "external_id": "id"}, headers=as_editor)
    assert batch["rows_created"] == 2
    c1, c2 = (record["id"] for record in await all_records(client, owner.headers))
    url = f"{CASES}/{c1}"

    # A viewer and a cases:read key read cases and batches but cannot upload, enrich or change a case.
    key = await create_api_key(client, owner, scopes=["cases:read"])
    for headers in (as_viewer, {"X-API-Key": key["secret"]}):
        assert (await client.get(CASES, headers=headers)).status_code == 200
        assert (await client.get(url, headers=headers)).status_code == 200
        assert (await client.get(f"{BATCHES}/{batch['id']}", headers=headers)).status_code == 200
        error_of(await upload(client, headers, content, {"text": "text"}), 403, "FORBIDDEN")
        error_of(await client.post(f"{CASES}/enrich", json={}, headers=headers), 403, "FORBIDDEN")
        error_of(await client.patch(url, json={"status": "waiting"}, headers=headers), 403, "FORBIDDEN")
    # documents:read is not enough to read cases.
    documents_key = {"X-API-Key": (await create_api_key(client, owner, scopes=["documents:read"]))["secret"]}
    for path in (CASES, url, BATCHES):
        error_of(await client.get(path, headers=documents_key), 403, "FORBIDDEN")

    # A case is a document without a file; deleting that document deletes the case.
    error_of(await client.get(f"/api/v1/documents/{c1}/file", headers=owner.headers), 404, "DOCUMENT_HAS_NO_FILE")
    document = await client.get(f"/api/v1/documents/{c1}", headers=owner.headers)
    assert document.status_code == 200, document.text
    assert document.json()["kind"] == "record"
    assert (await client.delete(f"/api/v1/documents/{c1}", headers=as_viewer)).status_code == 403
    assert (await client.delete(f"/api/v1/documents/{c1}", headers=as_editor)).status_code == 204
    error_of(await client.get(url, headers=owner.headers), 404, "CASE_NOT_FOUND")
    error_of(await client.patch(url, json={"status": "waiting"}, headers=as_editor), 404, "CASE_NOT_FOUND")
    assert [record["id"] for record in await all_records(client, owner.headers)] == [c2]
    hits = await client.post("/api/v1/search", json={"query": "zeppelin", "mode": "keyword"}, headers=owner.headers)
    assert hits.json()["items"] == []
    # Its external id is free again: importing the row once more makes a new case, with a new number.
    again_batch = await import_batch(client, owner, content, {"text": "text", "external_id": "id"}, enrich="false")
    assert (again_batch["rows_created"], again_batch["rows_unchanged"]) == (1, 1)
    cases = {record["external_id"]: record["number"] for record in await all_records(client, owner.headers)}
    assert cases == {"c1": "C-000003", "c2": "C-000002"}
    error_of(await client.get(f"{CASES}/C-000001", headers=owner.headers), 404, "CASE_NOT_FOUND")
