from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from sqlalchemy import insert

from folio.models import UsageEvent
from tests.analytics.conftest import Case, insert_cases
from tests.cases.conftest import make_unit
from tests.factories import Account, error_of, org_with, register

SERIES = "/api/v1/analytics/timeseries"
BERLIN = ZoneInfo("Europe/Berlin")


async def series(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(SERIES, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=BERLIN)


async def _around_the_spring_change(app: FastAPI, client: httpx.AsyncClient) -> Account:
    """Cases on each side of Berlin's midnights around 29 March 2026, when clocks went from 02:00 to 03:00."""
    owner = await register(client)
    opened = [berlin(28, 23, 30), berlin(29, 0, 30), berlin(29, 23, 30), berlin(30, 0, 10)]
    categories = ["billing", "billing", "shipping", None]
    await insert_cases(
        app, owner.org_id, [Case(moment, category=c) for moment, c in zip(opened, categories, strict=True)]
    )
    return owner


async def test_days_are_the_callers_days_across_a_dst_change(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await _around_the_spring_change(app, client)
    local = await series(client, owner.headers, **{"from": "2026-03-28", "to": "2026-03-31", "tz": "Europe/Berlin"})
    assert local["buckets"] == ["2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"]
    assert local["total"] == [1, 2, 1]
    assert local["period"] == {
        "from": "2026-03-28T00:00:00+01:00",
        "to": "2026-03-31T00:00:00+02:00",
        "tz": "Europe/Berlin",
    }
    utc = await series(client, owner.headers, **{"from": "2026-03-28T00:00:00Z", "to": "2026-03-31T00:00:00Z"})
    assert utc["total"] == [2, 2, 0]


async def test_hours_skip_the_hour_that_does_not_exist(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await _around_the_spring_change(app, client)
    hours = await series(
        client,
        owner.headers,
        **{"from": "2026-03-29T00:00:00+01:00", "to": "2026-03-29T04:00:00+02:00", "tz": "Europe/Berlin"},
        interval="hour",
    )
    assert hours["buckets"] == ["2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00"]
    assert hours["total"] == [1, 0, 0]


async def test_weeks_start_on_monday(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await _around_the_spring_change(app, client)
    weeks = await series(
        client, owner.headers, **{"from": "2026-03-25", "to": "2026-04-01", "tz": "Europe/Berlin"}, interval="week"
    )
    assert weeks["buckets"] == ["2026-03-23T00:00:00+01:00", "2026-03-30T00:00:00+02:00"]
    assert weeks["total"] == [3, 1]


async def test_groups_the_largest_first_and_the_rest_as_other(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await _around_the_spring_change(app, client)
    params = {"from": "2026-03-28", "to": "2026-03-31", "tz": "Europe/Berlin", "group_by": "category"}
    grouped = await series(client, owner.headers, **params)
    assert [(item["key"], item["values"], item["total"]) for item in grouped["series"]] == [
        ("billing", [1, 1, 0], 2),
        ("shipping", [0, 1, 0], 1),
        (None, [0, 0, 1], 1),
    ]
    top = await series(client, owner.headers, **params, groups=1)
    assert [(item["key"], item["values"]) for item in top["series"]] == [
        ("billing", [1, 1, 0]),
        ("__other__", [0, 1, 1]),
    ]


async def test_case_filters_and_units(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, (viewer, editor) = await org_with(client, "viewer", "editor")
    north = await make_unit(app, owner.org_id, "North", viewer)
    south = await make_unit(app, owner.org_id, "South")
    day = datetime(2026, 5, 4, 12, tzinfo=UTC)
    await insert_cases(
        app,
        owner.org_id,
        [
            Case(day, unit_id=north, status="open"),
            Case(day, unit_id=north, status="resolved", resolved_at=day + timedelta(days=1)),
            Case(day, unit_id=south, status="open"),
        ],
    )
    params = {"from": "2026-05-04T00:00:00Z", "to": "2026-05-06T00:00:00Z"}
    assert (await series(client, owner.headers, **params))["total"] == [3, 0]
    assert (await series(client, owner.headers, **params, status="open"))["total"] == [2, 0]
    assert (await series(client, owner.headers, **params, metric="resolved"))["total"] == [0, 1]
    # The unlimited editor's answer is cached first: the limited viewer must not be given it.
    assert (await series(client, editor.in_org(owner.org_id), **params))["total"] == [3, 0]
    assert (await series(client, viewer.in_org(owner.org_id), **params))["total"] == [2, 0]
    units = await series(client, owner.headers, **params, group_by="unit")
    assert {item["label"]: item["total"] for item in units["series"]} == {"North": 2, "South": 1}
    assert {UUID(item["key"]) for item in units["series"]} == {north, south}
    assert (await series(client, (await register(client)).headers, **params))["total"] == [0, 0]


async def test_tokens_are_the_organizations_for_admins_and_your_own_for_others(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner, (editor,) = await org_with(client, "editor")
    moment = datetime(2026, 5, 4, 12, tzinfo=UTC)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            insert(UsageEvent),
            [
                {
                    "org_id": owner.org_id,
                    "user_id": user,
                    "kind": "answer",
                    "model": "m",
                    "prompt_tokens": p,
                    "completion_tokens": 10,
                    "cost": Decimal("0.5"),
                    "created_at": moment,
                }
                for user, p in ((owner.user_id, 90), (editor.user_id, 40))
            ],
        )
    params = {"from": "2026-05-04T00:00:00Z", "to": "2026-05-05T00:00:00Z"}
    assert (await series(client, owner.headers, **params, metric="tokens"))["total"] == [150]
    assert (await series(client, owner.headers, **params, metric="cost"))["total"] == [1.0]
    assert (await series(client, editor.in_org(owner.org_id), **params, metric="tokens"))["total"] == [50]


async def test_wrong_questions_are_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"metric": "searches", "status": "open"}, "ANALYTICS_FILTER_NOT_APPLICABLE"),
        ({"metric": "cases", "group_by": "mode"}, "ANALYTICS_FILTER_NOT_APPLICABLE"),
        ({"metric": "visits"}, "VALIDATION_ERROR"),
        (
            {"interval": "hour", "from": "2026-01-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"},
            "ANALYTICS_PERIOD_INVALID",
        ),
        ({"groups": 500}, "VALIDATION_ERROR"),
        ({"channel": "x" * 201}, "VALIDATION_ERROR"),
        ({"field": "product:\\u0000"}, "VALIDATION_ERROR"),
        ({"tz": "Europe/Nowhere"}, "TIMEZONE_INVALID"),
        ({"unknown": "1"}, "VALIDATION_ERROR"),
    ]
    for params, code in cases:
        error_of(await client.get(SERIES, params=params, headers=owner.headers), 422, code)


async def test_a_day_whose_midnight_the_clock_skips(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Chile moved its clocks from 24:00 on 5 September 2026 to 01:00 on the 6th: that day starts at 01:00."""
    owner = await register(client)
    santiago = ZoneInfo("America/Santiago")
    await insert_cases(
        app,
        owner.org_id,
        [Case(datetime(2026, 9, 5, 23, 30, tzinfo=santiago)), Case(datetime(2026, 9, 6, 1, 30, tzinfo=santiago))],
    )
    days = await series(client, owner.headers, **{"from": "2026-09-05", "to": "2026-09-07", "tz": "America/Santiago"})
    assert days["buckets"] == ["2026-09-05T00:00:00-04:00", "2026-09-06T01:00:00-03:00"]
    assert days["total"] == [1, 1]
