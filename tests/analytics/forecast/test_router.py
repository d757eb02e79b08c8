"""GET /api/v1/analytics/forecast on cases generated straight into the database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from folio.analytics.forecast import ets
from tests.analytics.conftest import settled
from tests.cases.conftest import make_unit
from tests.connections import lent_to_requests
from tests.factories import create_api_key, error_of, org_with, register

FORECAST = "/api/v1/analytics/forecast"
FIRST_DAY = date(2026, 5, 4)
WEEK = np.array([8, 10, 9, 6, 3, -16, -20])

# One document and one record per case: `counts[i]` cases at noon UTC on `days[i]`.
_GENERATE = text(
    """
    WITH planned AS (
        SELECT gen_random_uuid() AS id, plan.day
        FROM unnest(CAST(:days AS date[]), CAST(:counts AS int[])) AS plan(day, n), generate_series(1, plan.n)
    ), documents AS (
        INSERT INTO documents (id, org_id, title, filename, kind, status, size_bytes, sha256, chunk_count)
        SELECT id, :org_id, 'A case.', 'generated.csv', 'record', 'ready', 7, md5(id::text) || md5(id::text), 1
        FROM planned
    )
    INSERT INTO records (document_id, org_id, number, opened_at, category, unit_id)
    SELECT id, :org_id,
        (SELECT coalesce(max(number), 0) FROM records WHERE org_id = :org_id) + row_number() OVER (),
        (day + time '12:00') AT TIME ZONE 'UTC', CAST(:category AS text), CAST(:unit_id AS uuid)
    FROM planned
    """
)


async def generate(
    app: FastAPI,
    org_id: UUID,
    counts: Sequence[float],
    *,
    category: str | None = None,
    unit_id: UUID | None = None,
) -> None:
    """`counts[i]` cases on each of the days before FIRST_DAY, the last on the day before it."""
    days = [FIRST_DAY - timedelta(days=len(counts) - index) for index in range(len(counts))]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            _GENERATE,
            {
                "days": days,
                "counts": [int(count) for count in counts],
                "category": category,
                "unit_id": unit_id,
                "org_id": org_id,
            },
        )


def weekly(days: int, *, seed: int, level: float) -> list[float]:
    rng = np.random.default_rng(seed)
    day = np.arange(days)
    return list(np.clip(np.round(level + 0.1 * day + WEEK[day % 7] + rng.normal(0, 3, days)), 0, None))


async def forecast(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> httpx.Response:
    return await client.get(FORECAST, params={"to": FIRST_DAY.isoformat(), **params}, headers=headers)


def by_key(body: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    return {item["key"]: item for item in body["series"]}


async def test_forecasts_each_group_and_flags_the_one_too_new(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    billing = weekly(120, seed=1, level=40)
    await generate(app, owner.org_id, billing, category="billing")
    await generate(app, owner.org_id, [4, 6, 5], category="shipping")
    await settled(app, owner.org_id)

    response = await forecast(client, owner.headers, group_by="category", horizon=14, history=120)
    assert response.status_code == 200, response.text
    assert response.headers["X-Cache"] == "miss"
    body = response.json()
    assert body["method"] == "ETS(A,Ad,A) m=7"
    assert body["dates"][0] == "2026-05-04"
    assert len(body["dates"]) == 14
    assert body["history"] == {"from": "2026-01-04T00:00:00Z", "to": "2026-05-04T00:00:00Z", "tz": "UTC"}

    found = by_key(body)
    assert set(found) == {"billing", "shipping"}
    shipping = found["shipping"]
    assert shipping["insufficient_history"] is True
    assert shipping["history_days"] == 3
    assert shipping["forecast"] is None
    assert shipping["backtest"] is None
    assert shipping["intervals"] == []

    series = found["billing"]
    assert series["insufficient_history"] is False
    assert series["history_days"] == 120
    assert set(series["parameters"]) == {"smoothing_level", "smoothing_trend", "smoothing_seasonal", "damping_trend"}
    point = np.array(series["forecast"])
    assert len(point) == 14
    # About the last fortnight's level, with its quiet weekends.
    assert abs(point.mean() - np.mean(billing[-14:])) < 8
    eighty, ninety_five = series["intervals"]
    assert (eighty["level"], ninety_five["level"]) == (80, 95)
    assert (np.array(ninety_five["lower"]) <= np.array(eighty["lower"])).all()
    assert (np.array(eighty["lower"]) <= point).all()
    assert (point <= np.array(eighty["upper"])).all()
    assert (np.array(eighty["upper"]) <= np.array(ninety_five["upper"])).all()
    assert min(ninety_five["lower"]) >= 0
    backtest = series["backtest"]
    assert backtest["weeks"] == 2
    assert backtest["mase"] > 0
    assert backtest["seasonal_naive_mase"] > 0

    again = await forecast(client, owner.headers, group_by="category", horizon=14, history=120)
    assert again.headers["X-Cache"] == "hit"
    assert again.json() == body


async def test_three_days_of_cases_are_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    error = error_of(await forecast(client, owner.headers), 422, "FORECAST_HISTORY_TOO_SHORT")
    assert error["details"] == {"min_days": ets.MIN_HISTORY_DAYS, "history_days": 0}
    await generate(app, owner.org_id, [4, 6, 5], category="billing")
    error = error_of(await forecast(client, owner.headers), 422, "FORECAST_HISTORY_TOO_SHORT")
    assert error["details"] == {"min_days": ets.MIN_HISTORY_DAYS, "history_days": 3}
    grouped = await forecast(client, owner.headers, group_by="category")
    assert error_of(grouped, 422, "FORECAST_HISTORY_TOO_SHORT")["details"]["history_days"] == 3


async def test_counts_only_what_the_principal_sees(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, (viewer,) = await org_with(client, "viewer")
    north = await make_unit(app, owner.org_id, "North", viewer)
    south = await make_unit(app, owner.org_id, "South")
    await generate(app, owner.org_id, weekly(60, seed=2, level=30), unit_id=north)
    await generate(app, owner.org_id, weekly(60, seed=3, level=200), unit_id=south)
    stranger = await register(client)
    await generate(app, stranger.org_id, weekly(60, seed=4, level=500))

    params = {"history": 60, "horizon": 7}
    everything = (await forecast(client, owner.headers, **params)).json()
    north_only = (await forecast(client, owner.headers, **params, unit_id=str(north))).json()
    limited = await forecast(client, viewer.in_org(owner.org_id), **params)
    assert limited.status_code == 200, limited.text
    # The owner's answer is cached first: the limited viewer must get an answer of their own.
    assert limited.headers["X-Cache"] == "miss"
    assert limited.json()["series"] == north_only["series"]
    # North and South (about 230 a day), never the other organization's 500.
    assert 150 < np.mean(everything["series"][0]["forecast"]) < 400
    assert np.mean(limited.json()["series"][0]["forecast"]) < 60

    by_unit = (await forecast(client, owner.headers, **params, group_by="unit")).json()
    assert {item["label"] for item in by_unit["series"]} == {"North", "South"}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"horizon": 0}, "VALIDATION_ERROR"),
        ({"horizon": 61}, "VALIDATION_ERROR"),
        ({"history": 27}, "VALIDATION_ERROR"),
        ({"history": 366}, "VALIDATION_ERROR"),
        ({"groups": 11}, "VALIDATION_ERROR"),
        ({"metric": "tokens"}, "VALIDATION_ERROR"),
        ({"to": "0001-01-01"}, "VALIDATION_ERROR"),
        ({"to": "9999-12-31"}, "VALIDATION_ERROR"),
        ({"interval": "hour"}, "VALIDATION_ERROR"),
        ({"tz": "Mars/Olympus"}, "TIMEZONE_INVALID"),
        ({"tz": "UTC\x00"}, "VALIDATION_ERROR"),
        ({"group_by": "mode"}, "ANALYTICS_FILTER_NOT_APPLICABLE"),
        ({"metric": "searches", "status": "open"}, "ANALYTICS_FILTER_NOT_APPLICABLE"),
    ],
)
async def test_bad_parameters(client: httpx.AsyncClient, params: dict[str, Any], code: str) -> None:
    owner = await register(client)
    error_of(await forecast(client, owner.headers, **params), 422, code)


async def test_needs_the_analytics_scope(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    search_only = await create_api_key(client, owner, scopes=["search"])
    error_of(await forecast(client, {"X-API-Key": search_only["secret"]}), 403, "FORBIDDEN")


async def test_fits_with_no_database_connection_held(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await register(client)
    await generate(app, owner.org_id, weekly(40, seed=5, level=20))
    lent: list[int] = []
    fit = ets.forecast_all
    with lent_to_requests(app) as connections:

        def probed(histories: Sequence[Sequence[float]], horizon: int) -> list[ets.Forecast | ets.TooShort]:
            # Run in a worker thread, to which anyio passes the request's context variables.
            lent.append(connections.to_this_request())
            return fit(histories, horizon)

        monkeypatch.setattr(ets, "forecast_all", probed)
        response = await forecast(client, owner.headers, history=40)
    assert response.status_code == 200, response.text
    assert lent == [0]
