"""A team moving to Folio brings its cases' history: status, first response and resolution times per row."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.factories import register
from tests.records.conftest import all_records, csv_bytes, errors_of, import_batch

MAPPING = {
    "external_id": "id",
    "text": "text",
    "created_at": "created",
    "status": "status",
    "first_response_at": "answered",
    "resolved_at": "solved",
}


async def test_an_imported_history_keeps_its_times(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    batch = await import_batch(
        client,
        owner,
        csv_bytes(
            "id,text,created,status,answered,solved",
            "t1,The invoice is wrong,2026-10-01T08:00:00Z,solved,2026-10-01T09:00:00Z,2026-10-02T08:00:00Z",
            "t2,The parcel is late,2026-10-03T08:00:00Z,Pending,2026-10-03T08:30:00Z,",
            "t3,The app crashes,2026-10-04T08:00:00Z,,,2026-10-09T08:00:00Z",
            "t4,Nobody answered yet,2026-10-05T08:00:00Z,,,",
            "t5,A status nobody knows,2026-10-05T08:00:00Z,escalated,,",
        ),
        MAPPING,
        enrich="false",
    )
    assert errors_of(batch) == [(6, "INVALID_STATUS")]
    cases = {case["external_id"]: case for case in await all_records(client, owner.headers)}
    assert {key: case["status"] for key, case in cases.items()} == {
        "t1": "resolved",
        "t2": "waiting",
        "t3": "resolved",
        "t4": "open",
    }
    assert cases["t1"]["opened_at"] == "2026-10-01T08:00:00Z"
    assert cases["t1"]["first_response_at"] == "2026-10-01T09:00:00Z"
    assert cases["t1"]["resolved_at"] == "2026-10-02T08:00:00Z"
    assert cases["t2"]["resolved_at"] is None
    assert cases["t4"]["first_response_at"] is None

    overview = await client.get(
        "/api/v1/analytics/overview",
        params={"from": "2026-10-01T00:00:00Z", "to": "2026-10-10T00:00:00Z"},
        headers=owner.headers,
    )
    cases_figures = overview.json()["cases"]
    assert (cases_figures["opened"], cases_figures["resolved"]) == (4, 2)
    # Resolved after 1 and 5 days; each case's SLA (72 hours at normal priority) runs from its own created_at.
    assert cases_figures["median_resolve_seconds"] == 3 * 86400
    assert (cases_figures["resolved_late"], cases_figures["overdue_now"]) == (1, 2)
    assert cases["t1"]["due_at"] == "2026-10-04T08:00:00Z"
    assert cases_figures["median_first_response_seconds"] == 45 * 60


async def test_a_person_acting_on_a_case_is_its_first_response(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await import_batch(
        client,
        owner,
        csv_bytes("id,text", "k1,Help me", "k2,Help me too"),
        {"external_id": "id", "text": "text"},
        enrich="false",
    )
    first, second = sorted(await all_records(client, owner.headers), key=lambda case: case["external_id"])
    assert first["first_response_at"] is None
    commented = await client.post(
        f"/api/v1/cases/{first['id']}/comments", json={"body": "Looking into it"}, headers=owner.headers
    )
    assert commented.status_code == 201, commented.text
    moved = await client.patch(f"/api/v1/cases/{second['id']}", json={"status": "in_progress"}, headers=owner.headers)
    assert moved.status_code == 200, moved.text
    answered = {case["external_id"]: case["first_response_at"] for case in await all_records(client, owner.headers)}
    assert answered["k1"] is not None
    assert answered["k2"] == moved.json()["first_response_at"] is not None
    again = await client.patch(f"/api/v1/cases/{second['id']}", json={"status": "waiting"}, headers=owner.headers)
    assert again.json()["first_response_at"] == answered["k2"]
