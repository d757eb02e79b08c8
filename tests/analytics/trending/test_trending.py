"""Trending on generated cases: a planted trend is found with exact counts and examples, steady noise and words of
every case are not, categories rise, units and organizations stay apart, bad questions are refused."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from folio.analytics.trending.statistic import log_likelihood
from tests.analytics.trending.conftest import Text, insert_texts
from tests.cases.conftest import make_unit
from tests.factories import Account, error_of, org_with, register

TRENDING = "/api/v1/analytics/trending"
END = datetime(2026, 6, 29, tzinfo=UTC)
DAY = timedelta(days=1)
# Made-up words, so that the stemmer keeps them whole and no stop word is among them.
NOISE = [f"zor{letter}{other}ix" for letter in "bdfgklmnpr" for other in "aeiouy"]
TREND, COMMON, FOREIGN = "sprocketfail", "widgetry", "foreigncrash"


@dataclass
class World:
    owner: Account
    north_viewer: Account
    south_viewer: Account
    north: UUID
    south: UUID
    cases: list[Text]
    ids: list[UUID]


def _generated(rng: random.Random, north: UUID, south: UUID) -> list[Text]:
    """35 days of 40 cases a day (the window: the last 7). Six noise words each, steady; `widgetry` in 30 % of
    cases before and 60 % in the window (but too common to be news); `sprocketfail` in 1 case a week before and in
    15 % of the window's cases, all of unit South; category `outage` from 2 % to 25 %."""
    cases = []
    for day in range(35):
        in_window = day >= 28
        for _ in range(40):
            unit = rng.choice([north, south])
            words = rng.sample(NOISE, 6)
            if rng.random() < (0.6 if in_window else 0.3):
                words.append(COMMON)
            if unit == south and (rng.random() < 0.3 if in_window else rng.random() < 1 / 140):
                words.append(TREND)
            rng.shuffle(words)
            outage = rng.random() < (0.25 if in_window else 0.02)
            category = "outage" if outage else rng.choice(["billing", "billing", "shipping", None])
            opened = END - 35 * DAY + day * DAY + timedelta(seconds=rng.randrange(86400))
            cases.append(Text(opened, "Customer wrote: " + " ".join(words), unit, category))
    return cases


@pytest.fixture
async def world(app: FastAPI, client: httpx.AsyncClient) -> World:
    owner, (north_viewer, south_viewer) = await org_with(client, "viewer", "viewer")
    north = await make_unit(app, owner.org_id, "North", north_viewer)
    south = await make_unit(app, owner.org_id, "South", south_viewer)
    cases = _generated(random.Random(15), north, south)
    ids = await insert_texts(app, owner.org_id, cases)
    # Another organization, where another word rises and `sprocketfail` is in every case: never counted above.
    other = await register(client)
    await insert_texts(
        app,
        other.org_id,
        [Text(END - DAY * (1 + i % 30), f"{FOREIGN if i % 30 < 7 else 'calm'} {TREND} zorbaix") for i in range(300)],
    )
    return World(owner, north_viewer, south_viewer, north, south, cases, ids)


async def trending(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(TRENDING, params={"end": END.isoformat(), **params}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _expected(cases: list[Text], word: str, unit: UUID | None = None) -> tuple[int, int, int, int]:
    """(cases with the word now, before; cases now, before), counted here from the generated texts."""
    start = END - 7 * DAY
    seen = [case for case in cases if unit is None or case.unit_id == unit]
    now = [case for case in seen if case.opened_at >= start]
    before = [case for case in seen if case.opened_at < start]
    holding = sum(word in case.body.split() for case in now), sum(word in case.body.split() for case in before)
    return *holding, len(now), len(before)


async def test_the_planted_trend_is_found_and_steady_noise_is_not(client: httpx.AsyncClient, world: World) -> None:
    body = await trending(client, world.owner.headers, window="7d", baseline=4, kind="terms")
    assert body["window"] == {"from": "2026-06-22T00:00:00Z", "to": "2026-06-29T00:00:00Z", "days": 7, "cases": 280}
    assert body["baseline"] == {
        "from": "2026-05-25T00:00:00Z",
        "to": "2026-06-22T00:00:00Z",
        "windows": 4,
        "cases": 1120,
    }
    assert body["categories"] is None
    terms = {item["term"]: item for item in body["terms"]}
    # Only the planted word: not the steady noise, not the word of every other case, not the other organization's.
    assert list(terms) == [TREND]
    now, before, cases_now, cases_before = _expected(world.cases, TREND)
    found = terms[TREND]
    assert (found["count_now"], found["count_before"]) == (now, before / 4)
    assert found["score"] == pytest.approx(log_likelihood(now, before, cases_now, cases_before), abs=1e-3)
    assert found["ratio"] == pytest.approx((now / cases_now) / (before / cases_before), abs=1e-3)
    assert len(found["examples"]) == 3
    holding = {
        case_id: case
        for case_id, case in zip(world.ids, world.cases, strict=True)
        if TREND in case.body.split() and case.opened_at >= END - 7 * DAY
    }
    examples = [UUID(example["id"]) for example in found["examples"]]
    assert set(examples) <= set(holding)
    assert [holding[case_id].opened_at for case_id in examples] == sorted(
        (holding[case_id].opened_at for case_id in examples), reverse=True
    )
    assert all(example["number"].startswith("C-") and len(example["number"]) == 8 for example in found["examples"])
    # The word of every other case rose as much, and is only left out as too common.
    common = _expected(world.cases, COMMON)
    assert log_likelihood(*common) > 15.13
    assert common[1] / common[3] > 0.2


async def test_categories_rise(client: httpx.AsyncClient, world: World) -> None:
    body = await trending(client, world.owner.headers, kind="categories", min_count=3)
    assert body["terms"] is None
    assert [item["category"] for item in body["categories"]] == ["outage"]
    outage = body["categories"][0]
    start = END - 7 * DAY
    now = sum(case.category == "outage" and case.opened_at >= start for case in world.cases)
    before = sum(case.category == "outage" and case.opened_at < start for case in world.cases)
    assert (outage["count_now"], outage["count_before"]) == (now, before / 4)
    assert outage["score"] == pytest.approx(log_likelihood(now, before, 280, 1120), abs=1e-3)
    assert len(outage["examples"]) == 3
    by_id = dict(zip(world.ids, world.cases, strict=True))
    assert all(by_id[UUID(example["id"])].category == "outage" for example in outage["examples"])
    # Minimum support: fewer cases in the window than asked is no trend.
    assert (await trending(client, world.owner.headers, kind="categories", min_count=now + 1))["categories"] == []


async def test_units_see_their_own_terms_and_examples(client: httpx.AsyncClient, world: World) -> None:
    south = await trending(client, world.south_viewer.in_org(world.owner.org_id), kind="terms")
    now, before, cases_now, cases_before = _expected(world.cases, TREND, world.south)
    assert south["window"]["cases"] == cases_now
    assert south["baseline"]["cases"] == cases_before
    (found,) = south["terms"]
    assert (found["term"], found["count_now"], found["count_before"]) == (TREND, now, before / 4)
    by_id = dict(zip(world.ids, world.cases, strict=True))
    assert {by_id[UUID(example["id"])].unit_id for example in found["examples"]} == {world.south}

    north = await trending(client, world.north_viewer.in_org(world.owner.org_id), kind="both")
    assert north["terms"] == []
    assert north["window"]["cases"] == _expected(world.cases, TREND, world.north)[2]
    assert all(
        by_id[UUID(example["id"])].unit_id == world.north
        for item in north["categories"]
        for example in item["examples"]
    )
    # A unit asked for that the member does not see counts nothing; the owner may narrow to any unit.
    other_unit = await trending(client, world.north_viewer.in_org(world.owner.org_id), unit_id=str(world.south))
    assert other_unit["window"]["cases"] == 0
    assert other_unit["terms"] == []
    assert other_unit["categories"] == []
    narrowed = await trending(client, world.owner.headers, unit_id=str(world.north), kind="terms")
    assert narrowed["terms"] == []
    assert narrowed["unit_id"] == str(world.north)


async def test_another_organization_counts_nothing(client: httpx.AsyncClient, app: FastAPI, world: World) -> None:
    stranger = await register(client)
    body = await trending(client, stranger.headers)
    assert body["window"]["cases"] == 0
    assert body["terms"] == []
    assert body["categories"] == []
    error_of(await client.get(TRENDING, headers=world.owner.in_org(stranger.org_id)), 403, "ORG_ACCESS_DENIED")


async def test_bad_questions_are_refused(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"window": "120d"}, "ANALYTICS_PERIOD_INVALID"),
        ({"window": "90d", "baseline": 12}, "ANALYTICS_PERIOD_INVALID"),
        ({"window": "7d", "from": "2026-06-01T00:00:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"end": "2026-06-01T00:00:00Z", "to": "2026-06-08T00:00:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"from": "2026-06-08T00:00:00Z", "to": "2026-06-01T00:00:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"end": "0001-01-03T00:00:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"end": "9999-12-31T23:59:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"window": "7 days"}, "VALIDATION_ERROR"),
        ({"window": "0d"}, "VALIDATION_ERROR"),
        ({"baseline": 13}, "VALIDATION_ERROR"),
        ({"limit": 51}, "VALIDATION_ERROR"),
        ({"min_count": 0}, "VALIDATION_ERROR"),
        ({"kind": "words"}, "VALIDATION_ERROR"),
        ({"unit_id": "north"}, "VALIDATION_ERROR"),
        ({"tz": "UTC\x00"}, "VALIDATION_ERROR"),
        ({"tz": "Mars/Olympus"}, "TIMEZONE_INVALID"),
        ({"channel": "email"}, "VALIDATION_ERROR"),
    ]
    for params, code in cases:
        error_of(await client.get(TRENDING, params=params, headers=owner.headers), 422, code)
