"""The pulse on demand, without a model: known figures against the week before, the templated digest that tells
them, units and organizations kept apart, and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI

from tests.analytics.conftest import Case, insert_cases, settled, this_minute
from tests.cases.conftest import make_unit
from tests.factories import error_of, org_with, register

PULSE = "/api/v1/analytics/pulse"
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def week(now: datetime, unit_id: UUID | None = None) -> list[Case]:
    """10 cases 8–13 days ago (billing 2, shipping 8; negative 2, positive 8) and 15 in the last 6 days (billing
    10, shipping 5; negative 6, positive 6, 3 without sentiment), 3 of which were resolved, 1 after its due time."""
    before = [
        Case(
            now - (8 + i % 5) * DAY,
            category="billing" if i < 2 else "shipping",
            sentiment="negative" if i < 2 else "positive",
            unit_id=unit_id,
        )
        for i in range(10)
    ]
    recent = [
        Case(
            now - (1 + i % 5) * DAY,
            category="billing" if i < 10 else "shipping",
            sentiment=("negative", "positive", None)[i % 3] if i < 9 else ("negative", "positive")[i % 2],
            unit_id=unit_id,
        )
        for i in range(15)
    ]
    for i, late in enumerate((False, False, True)):
        opened = recent[i].opened_at
        recent[i] = Case(
            opened,
            status="resolved",
            category=recent[i].category,
            sentiment=recent[i].sentiment,
            unit_id=unit_id,
            resolved_at=opened + 10 * HOUR,
            due_at=opened + (5 if late else 20) * HOUR,
        )
    return before + recent


async def pulse(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = await client.get(PULSE, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_week_against_the_week_before_with_a_templated_digest(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    await insert_cases(app, owner.org_id, week(datetime.now(UTC)))

    body = await pulse(client, owner.headers)

    assert body["volume"] == {"now": 15, "before": 10, "change_percent": 50.0}
    sentiment = body["sentiment"]
    assert (sentiment["labelled_now"], sentiment["labelled_before"]) == (12, 10)
    mix = {share["sentiment"]: share for share in sentiment["mix"]}
    assert mix["negative"] == {
        "sentiment": "negative",
        "now": 6,
        "before": 2,
        "share_now": 50.0,
        "share_before": 20.0,
        "shift_points": 30.0,
    }
    assert mix["positive"]["shift_points"] == -30.0
    # 10 of 15 against 2 of 10 is no trend by trending's statistic (G² 5.5, below 15.13).
    assert body["rising_categories"] == []
    cases = body["cases"]
    assert cases["resolved"] == {"now": 3, "before": 0, "change_percent": None}
    assert cases["resolved_late"]["now"] == 1
    assert (cases["open_now"], cases["median_resolve_seconds"]) == (22, 10 * 3600)
    digest = body["digest"]
    assert (digest["generated_by"], digest["fallback_reason"]) == ("offline", None)
    for told in ("rose 50% to 15 cases", "10 the 7 days before", "Negative sentiment 50% (+30 pts)"):
        assert told in digest["text"], digest["text"]
    assert "3 resolved, 1 of them after their SLA due time" in digest["text"]
    assert "Backlog now: 22 open" in digest["text"]
    assert len(digest["text"].split()) <= 120


async def test_rising_categories_are_trendings(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    now = datetime.now(UTC)
    before = [Case(now - timedelta(days=10, hours=i), category="shipping") for i in range(40)]
    recent = [Case(now - timedelta(days=3, hours=i), category="billing" if i % 2 else "shipping") for i in range(40)]
    await insert_cases(app, owner.org_id, before + recent)

    body = await pulse(client, owner.headers)

    ((rising),) = body["rising_categories"]
    assert (rising["key"], rising["now"], rising["before"], rising["change_percent"]) == ("billing", 20, 0, None)
    trending = await client.get("/api/v1/analytics/trending", params={"baseline": 1}, headers=owner.headers)
    assert rising["score"] == trending.json()["categories"][0]["score"]
    assert "Rising: billing" in body["digest"]["text"]


async def test_a_period_of_its_own_is_compared_with_as_long_a_period_before(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    now = datetime.now(UTC)
    await insert_cases(app, owner.org_id, week(now))
    start, end = (now - 14 * DAY).replace(microsecond=0), now.replace(microsecond=0)
    body = await pulse(
        client, owner.headers, **{"from": start.isoformat(), "to": end.isoformat(), "tz": "Europe/Paris"}
    )
    assert body["volume"] == {"now": 25, "before": 0, "change_percent": None}
    assert datetime.fromisoformat(body["previous"]["to"]) == start
    assert datetime.fromisoformat(body["previous"]["from"]) == start - 14 * DAY
    assert body["period"]["tz"] == "Europe/Paris"
    assert "25 cases opened, none in the 14 days before" in body["digest"]["text"]


async def test_a_member_limited_to_a_unit_gets_their_units_pulse(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, (supervisor,) = await org_with(client, "supervisor")
    north = await make_unit(app, owner.org_id, "North", supervisor)
    south = await make_unit(app, owner.org_id, "South")
    now = datetime.now(UTC)
    await insert_cases(app, owner.org_id, week(now, north)[:5] + week(now, south))

    assert (await pulse(client, owner.headers))["volume"]["before"] == 15
    limited = await pulse(client, supervisor.in_org(owner.org_id))
    assert limited["volume"] == {"now": 0, "before": 5, "change_percent": -100.0}
    assert limited["rising_categories"] == []
    assert limited["cases"]["open_now"] == 5
    assert "Volume fell 100% to 0 cases" in limited["digest"]["text"]


async def test_another_organization_sees_nothing_of_them(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await insert_cases(app, owner.org_id, week(datetime.now(UTC)))
    stranger = await register(client)
    body = await pulse(client, stranger.headers)
    assert body["volume"] == {"now": 0, "before": 0, "change_percent": None}
    assert body["sentiment"] == {"labelled_now": 0, "labelled_before": 0, "mix": []}
    assert body["cases"]["open_now"] == 0
    assert body["digest"]["text"].startswith("No case opened, nor in the 7 days before.")
    error_of(await client.get(PULSE, headers=stranger.in_org(owner.org_id)), 403, "ORG_ACCESS_DENIED")


async def test_answers_are_cached(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await settled(app, owner.org_id)
    period = this_minute()
    first = await client.get(PULSE, params=period, headers=owner.headers)
    again = await client.get(PULSE, params=period, headers={**owner.headers, "If-None-Match": first.headers["ETag"]})
    assert (first.headers["X-Cache"], again.status_code, again.headers["X-Cache"]) == ("miss", 304, "hit")


async def test_bad_input_is_refused(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    for params, code in (
        ({"tz": "Mars/Olympus"}, "TIMEZONE_INVALID"),
        ({"tz": "../../etc/passwd"}, "TIMEZONE_INVALID"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "ANALYTICS_PERIOD_INVALID"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "ANALYTICS_PERIOD_INVALID"),
        ({"from": "yesterday"}, "VALIDATION_ERROR"),
        ({"tz": "UTC\x00"}, "VALIDATION_ERROR"),
        ({"tz": "U" * 65}, "VALIDATION_ERROR"),
        ({"metric": "cases"}, "VALIDATION_ERROR"),
    ):
        error_of(await client.get(PULSE, params=params, headers=owner.headers), 422, code)
