"""Spikes: the Poisson tail statistic, and the detector firing on a generated spike but not on steady traffic."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from folio.alerts.evaluation import evaluate_periodic
from folio.alerts.spikes import poisson_tail, spike_test
from tests.alerts.conftest import (
    Case,
    create_rule,
    events_of,
    make_unit,
    spike_rule,
    stored_alerts,
    write_cases,
)
from tests.factories import register
from tests.records.conftest import csv_bytes, import_batch

# Long ago, so that the app's own periodic evaluation (at the real time) sees none of these windows.
NOW = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("count", "mean", "expected"),
    [
        (0, 5.0, 1.0),
        (1, 0.5, 1 - math.exp(-0.5)),
        (3, 5.0, 0.8753479805169189),
        (10, 5.0, 0.031828057306204804),
        (15, 5.0, 0.0002262536761767555),
        (200, 5.0, 5.45228319513535e-238),
        (1, 0.0, 0.0),
    ],
)
def test_the_poisson_tail(count: int, mean: float, expected: float) -> None:
    assert poisson_tail(count, mean) == pytest.approx(expected, rel=1e-9)


@given(st.integers(0, 300), st.floats(0.01, 200))
def test_the_tail_is_a_probability_that_falls_as_the_count_grows(count: int, mean: float) -> None:
    tail = poisson_tail(count, mean)
    assert 0.0 <= tail <= 1.0
    assert poisson_tail(count + 1, mean) <= tail + 1e-12


def test_a_spike_needs_a_small_tail_and_the_minimum_support() -> None:
    steady = [4, 5, 3, 6, 4, 5, 4, 3]
    assert not spike_test(7, steady, alpha=0.001, min_support=5).spike
    fired = spike_test(20, steady, alpha=0.001, min_support=5)
    assert fired.spike
    assert fired.baseline_mean == pytest.approx((sum(steady) + 1) / (len(steady) + 1))
    assert fired.p_value < 1e-6
    # Four cases where none ever came are unusual, but fewer than the rule asks for.
    assert spike_test(4, [0] * 24, alpha=0.001, min_support=5).p_value < 0.001
    assert not spike_test(4, [0] * 24, alpha=0.001, min_support=5).spike


def steady_traffic(unit_ids: list[UUID], hours: int, seed: int) -> list[Case]:
    """Cases of two categories in each unit, a Poisson number (mean 4) of each per hour from `hours` before NOW to
    an hour after it, at random moments."""
    rng = np.random.default_rng(seed)
    cases = []
    for unit_id in unit_ids:
        for category in ("billing", "shipping_delivery"):
            for hour in range(-1, hours):
                for _ in range(int(rng.poisson(4))):
                    at = NOW - hour * HOUR - timedelta(seconds=int(rng.integers(1, 3600)))
                    cases.append(Case(unit_id=unit_id, occurred_at=at, labels={"category": category}))
    return cases


async def evaluate(app: FastAPI, org_id: UUID, now: datetime) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await evaluate_periodic(session, org_id=org_id, now=now)


async def test_a_spike_fires_on_a_generated_spike_and_not_on_steady_traffic(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner = await register(client)
    north = await make_unit(app, owner.org_id, "North")
    south = await make_unit(app, owner.org_id, "South")
    by_category = await create_rule(client, owner.headers, spike_rule("category") | {"severity": "critical"})
    by_unit = await create_rule(client, owner.headers, spike_rule("unit", window_minutes=60, baseline_windows=12))
    await write_cases(app, owner.org_id, steady_traffic([north, south], hours=36, seed=20261206))

    # Eleven windows of steady traffic, ending on the hour and between.
    for minutes in range(-300, 1, 30):
        await evaluate(app, owner.org_id, NOW + timedelta(minutes=minutes))
    assert await stored_alerts(app, owner.org_id) == []

    spike = await write_cases(
        app,
        owner.org_id,
        [
            Case(unit_id=north, occurred_at=NOW + timedelta(minutes=10 + minute), labels={"category": "billing"})
            for minute in range(20)
        ],
    )
    await evaluate(app, owner.org_id, NOW + HOUR)
    await evaluate(app, owner.org_id, NOW + HOUR + timedelta(minutes=5))

    alerts = await stored_alerts(app, owner.org_id)
    assert [(str(alert.rule_id), alert.unit_id, alert.subject_key) for alert, _ in alerts] == [
        (by_category["id"], north, "billing"),
        (by_unit["id"], north, ""),
    ]
    (billing, billing_items), (_, unit_items) = alerts
    assert (billing.title, billing.severity.value) == ("A spike: billing", "critical")
    # The window's billing cases of North: the spike's and the steady traffic's.
    assert set(spike) < set(billing_items)
    assert billing.count == len(billing_items) == billing.details["count"]
    assert billing.details["p_value"] < 0.001
    assert 0 < billing.details["baseline_mean"] < 8
    assert set(spike) <= set(unit_items)
    assert len(await events_of(app, owner.org_id, "alert.raised")) == 2


async def test_a_term_spike_counts_the_imported_cases_mentioning_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    await create_rule(
        client, owner.headers, spike_rule("term", term="outage", window_minutes=60, baseline_windows=3, min_support=5)
    )
    now = datetime.now(UTC).replace(microsecond=0)
    recent = [now - timedelta(minutes=minute) for minute in range(1, 9)]
    lines = [f"{index},Total outage of the payment page again,{at.isoformat()}" for index, at in enumerate(recent[:6])]
    lines += [f"q{index},A question about my invoice,{at.isoformat()}" for index, at in enumerate(recent[6:])]
    lines.append(f"old,An outage last week,{(now - 2 * HOUR).isoformat()}")
    await import_batch(
        client,
        owner,
        csv_bytes("id,text,when", *lines),
        {"external_id": "id", "text": "text", "created_at": "when"},
        enrich="false",
    )

    await evaluate(app, owner.org_id, now)

    [(alert, items)] = await stored_alerts(app, owner.org_id)
    assert (alert.count, alert.subject_key, alert.details["count"]) == (6, "", 6)
    assert alert.details["baseline_mean"] == pytest.approx((1 + 1) / (3 + 1))
    assert len(items) == 6

    # Two more in the same window: the alert of the window grows, and its statistic is the latest one.
    await import_batch(
        client,
        owner,
        csv_bytes("id,text,when", *(f"more{index},Another outage,{now.isoformat()}" for index in range(2))),
        {"external_id": "id", "text": "text", "created_at": "when"},
        enrich="false",
    )
    await evaluate(app, owner.org_id, now)

    [(again, items)] = await stored_alerts(app, owner.org_id)
    assert (again.id, again.count, again.details["count"], len(items)) == (alert.id, 8, 8, 8)
    assert len(await events_of(app, owner.org_id, "alert.raised")) == 1
