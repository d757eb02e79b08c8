from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import insert

from folio.models import Job
from tests.analytics.conftest import Case, insert_cases, settled
from tests.cases.conftest import make_unit
from tests.factories import Account, create_api_key, error_of, org_with, register

OVERVIEW = "/api/v1/analytics/overview"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


async def overview(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = await client.get(OVERVIEW, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counts(items: list[dict[str, Any]]) -> dict[str | None, int]:
    return {item["key"]: item["count"] for item in items}


async def _queue(app: FastAPI, client: httpx.AsyncClient) -> tuple[Account, Account, list[Any], dict[str, Any]]:
    """An organization whose viewer is limited to unit North, with four cases of known times: three opened in the
    last 30 days (two resolved, one of them late), one older and still open."""
    owner, (viewer,) = await org_with(client, "viewer")
    north = await make_unit(app, owner.org_id, "North", viewer)
    south = await make_unit(app, owner.org_id, "South")
    now = datetime.now(UTC)
    opened = [now - 10 * DAY, now - 5 * DAY, now - 3 * DAY, now - 40 * DAY]
    ids = await insert_cases(
        app,
        owner.org_id,
        [
            Case(
                opened[0],
                status="resolved",
                category="billing",
                sentiment="negative",
                severity="high",
                channel="email",
                unit_id=north,
                first_response_at=opened[0] + HOUR,
                resolved_at=opened[0] + DAY,
                due_at=opened[0] + 2 * DAY,
            ),
            Case(
                opened[1], category="billing", unit_id=south, first_response_at=opened[1] + 3 * HOUR, due_at=now - DAY
            ),
            Case(
                opened[2],
                status="resolved",
                category="shipping",
                unit_id=north,
                first_response_at=opened[2] + 2 * HOUR,
                resolved_at=opened[2] + 2 * DAY,
                due_at=opened[2] + DAY,
            ),
            Case(opened[3], category="other", unit_id=north, due_at=now + DAY),
        ],
    )
    return owner, viewer, ids, {"north": str(north), "south": str(south)}


async def test_the_overview_counts_what_happened_in_the_period(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, _, _, units = await _queue(app, client)
    cases = (await overview(client, owner.headers))["cases"]
    assert (cases["opened"], cases["resolved"], cases["open_now"], cases["overdue_now"]) == (3, 2, 2, 1)
    assert cases["resolved_late"] == 1
    assert cases["median_first_response_seconds"] == 2 * 3600
    assert cases["first_responses"] == 3
    assert cases["median_resolve_seconds"] == 1.5 * 86400
    assert counts(cases["by_category"]) == {"billing": 2, "shipping": 1}
    assert counts(cases["by_status"]) == {"resolved": 2, "open": 1}
    assert counts(cases["by_sentiment"]) == {"negative": 1, None: 2}
    assert counts(cases["by_channel"]) == {"email": 1, None: 2}
    assert {item["label"]: item["count"] for item in cases["by_unit"]} == {"North": 2, "South": 1}
    assert {item["key"] for item in cases["by_unit"]} == {units["north"], units["south"]}


async def test_a_period_of_its_own(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, _, _, _ = await _queue(app, client)
    start = (datetime.now(UTC) - 60 * DAY).isoformat()
    cases = (await overview(client, owner.headers, **{"from": start}))["cases"]
    assert cases["opened"] == 4
    assert counts(cases["by_category"]) == {"billing": 2, "shipping": 1, "other": 1}


async def test_documents_jobs_and_usage(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, viewer, _, _ = await _queue(app, client)
    body = await overview(client, owner.headers)
    assert body["documents"] == {
        "total": 4,
        "by_status": {"ready": 4},
        "by_kind": {"record": 4},
        "chunks": 4,
        "storage_bytes": 4 * len("A case."),
    }
    assert body["usage"]["scope"] == "organization"
    assert body["usage"]["tokens"] == 0
    assert (await overview(client, viewer.in_org(owner.org_id)))["usage"]["scope"] == "you"


async def test_jobs_by_kind_with_run_time_percentiles(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, viewer, _, _ = await _queue(app, client)
    now = datetime.now(UTC)
    runs = [("succeeded", 10), ("succeeded", 20), ("failed", 30), ("queued", None)]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            insert(Job),
            [
                {
                    "org_id": owner.org_id,
                    "kind": "ingest_document",
                    "status": status,
                    "max_attempts": 3,
                    "started_at": None if seconds is None else now - HOUR,
                    "finished_at": None if seconds is None else now - HOUR + timedelta(seconds=seconds),
                }
                for status, seconds in runs
            ],
        )
    (job,) = (await overview(client, owner.headers))["jobs"]
    assert job["kind"] == "ingest_document"
    assert job["by_status"] == {"queued": 1, "running": 0, "succeeded": 2, "failed": 1, "cancelled": 0}
    assert job["p50_seconds"] == 20
    assert job["p95_seconds"] == 29
    assert (await overview(client, viewer.in_org(owner.org_id)))["jobs"] == []


async def test_a_member_limited_to_a_unit_sees_its_cases_only(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, viewer, _, _ = await _queue(app, client)
    body = await overview(client, viewer.in_org(owner.org_id))
    cases = body["cases"]
    assert (cases["opened"], cases["resolved"], cases["open_now"], cases["overdue_now"]) == (2, 2, 1, 0)
    assert counts(cases["by_category"]) == {"billing": 1, "shipping": 1}
    assert [item["label"] for item in cases["by_unit"]] == ["North"]
    assert body["documents"]["total"] == 3


async def test_another_organization_counts_nothing_of_them(app: FastAPI, client: httpx.AsyncClient) -> None:
    await _queue(app, client)
    stranger = await register(client)
    body = await overview(client, stranger.headers)
    assert body["cases"]["opened"] == 0
    assert body["cases"]["open_now"] == 0
    assert body["documents"]["total"] == 0


async def test_answers_are_cached_until_an_event_of_the_organization(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, _, ids, _ = await _queue(app, client)
    await settled(app, owner.org_id)
    # An end an hour ahead: the case resolved below is inside the period even if a minute ends meanwhile.
    period = {"to": (datetime.now(UTC) + timedelta(hours=1)).replace(second=0, microsecond=0).isoformat()}
    first = await client.get(OVERVIEW, params=period, headers=owner.headers)
    again = await client.get(OVERVIEW, params=period, headers=owner.headers)
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("miss", "hit")
    assert again.json() == first.json()
    unchanged = await client.get(
        OVERVIEW, params=period, headers={**owner.headers, "If-None-Match": first.headers["ETag"]}
    )
    assert unchanged.status_code == 304
    assert unchanged.content == b""

    moved = await client.patch(f"/api/v1/cases/{ids[1]}", json={"status": "resolved"}, headers=owner.headers)
    assert moved.status_code == 200, moved.text
    await settled(app, owner.org_id)
    fresh = await client.get(OVERVIEW, params=period, headers={**owner.headers, "If-None-Match": first.headers["ETag"]})
    assert fresh.headers["X-Cache"] == "miss"
    assert fresh.status_code == 200
    assert fresh.json()["cases"]["resolved"] == 3
    assert fresh.headers["ETag"] != first.headers["ETag"]


async def test_a_unit_limited_member_never_gets_the_whole_organization_cached_answer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner, viewer, _, _ = await _queue(app, client)
    assert (await overview(client, owner.headers))["cases"]["opened"] == 3
    limited = await client.get(OVERVIEW, headers=viewer.in_org(owner.org_id))
    assert limited.headers["X-Cache"] == "miss"
    assert limited.json()["cases"]["opened"] == 2


async def test_bad_periods_are_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    cases = [
        ({"tz": "Mars/Olympus"}, "TIMEZONE_INVALID"),
        ({"tz": "../../../etc/passwd"}, "TIMEZONE_INVALID"),
        ({"tz": "UTC\x00"}, "VALIDATION_ERROR"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"to": "not a date"}, "VALIDATION_ERROR"),
        ({"period": "7d"}, "VALIDATION_ERROR"),
    ]
    for params, code in cases:
        error_of(await client.get(OVERVIEW, params=params, headers=owner.headers), 422, code)


async def test_an_api_key_needs_the_analytics_scope(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    search_only = await create_api_key(client, owner, scopes=["search"])
    error_of(await client.get(OVERVIEW, headers={"X-API-Key": search_only["secret"]}), 403, "FORBIDDEN")
    dashboard = await create_api_key(client, owner, scopes=["analytics"])
    assert (await client.get(OVERVIEW, headers={"X-API-Key": dashboard["secret"]})).status_code == 200
