"""The overview's case figures come from the case days (whole UTC days) and from the cases themselves (the partial
days at a period's ends): for any period in any zone they equal a count of the cases, exact medians included, and
they follow the cases as people change them."""

from __future__ import annotations

import random
import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx
from fastapi import FastAPI
from sqlalchemy import delete, func, select, text, update

from folio.models import CaseDayStale, Document, Record
from tests.analytics.conftest import Case, insert_cases
from tests.analytics.test_overview import counts, overview
from tests.cases.conftest import make_unit
from tests.factories import org_with

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
CATEGORIES = ("billing", "shipping", None)
STATUSES = ("open", "waiting", "resolved")


def generated(rng: random.Random, units: list[UUID | None]) -> list[Case]:
    cases = []
    for _ in range(150):
        opened = NOW - timedelta(minutes=rng.randrange(1, 12 * 24 * 60))
        responded = opened + timedelta(minutes=rng.randrange(1, 3000)) if rng.random() < 0.7 else None
        resolved = opened + timedelta(minutes=rng.randrange(5, 5000)) if rng.random() < 0.5 else None
        cases.append(
            Case(
                opened,
                status="resolved" if resolved and resolved < NOW else rng.choice(STATUSES[:2]),
                priority=rng.choice(("low", "normal", "high")),
                category=rng.choice(CATEGORIES),
                sentiment=rng.choice(("negative", "neutral", None)),
                channel=rng.choice(("email", "chat")),
                unit_id=rng.choice(units),
                first_response_at=responded if responded and responded < NOW else None,
                resolved_at=resolved if resolved and resolved < NOW else None,
                due_at=opened + timedelta(hours=rng.choice((4, 24, 48))),
            )
        )
    return cases


def expected(cases: list[Case], since: datetime, until: datetime, units: set[UUID] | None) -> dict[str, Any]:
    seen = [case for case in cases if units is None or case.unit_id in units]
    opened = [case for case in seen if since <= case.opened_at < until]
    resolved = [case for case in seen if case.resolved_at and since <= case.resolved_at < until]
    responses = [(case.first_response_at - case.opened_at).total_seconds() for case in opened if case.first_response_at]
    resolutions = [(case.resolved_at - case.opened_at).total_seconds() for case in resolved if case.resolved_at]

    def by(name: str) -> dict[str | None, int]:
        values = [getattr(case, name) for case in opened]
        found: dict[str | None, int] = {}
        for value in values:
            key = None if value is None else str(value)
            found[key] = found.get(key, 0) + 1
        return found

    return {
        "opened": len(opened),
        "resolved": len(resolved),
        "resolved_late": sum(
            1 for case in resolved if case.due_at and case.resolved_at and case.resolved_at > case.due_at
        ),
        "first_responses": len(responses),
        "median_first_response_seconds": statistics.median(responses) if responses else None,
        "median_resolve_seconds": statistics.median(resolutions) if resolutions else None,
        "by_status": by("status"),
        "by_priority": by("priority"),
        "by_category": by("category"),
        "by_sentiment": by("sentiment"),
        "by_channel": by("channel"),
        "by_unit": by("unit_id"),
    }


def answered(cases: dict[str, Any]) -> dict[str, Any]:
    found = {name: cases[name] for name in ("opened", "resolved", "resolved_late", "first_responses")}
    for name in ("median_first_response_seconds", "median_resolve_seconds"):
        found[name] = None if cases[name] is None else round(cases[name], 3)
    for name in ("by_status", "by_priority", "by_category", "by_sentiment", "by_channel", "by_unit"):
        found[name] = counts(cases[name])
    return found


def rounded(figures: dict[str, Any]) -> dict[str, Any]:
    for name in ("median_first_response_seconds", "median_resolve_seconds"):
        if figures[name] is not None:
            figures[name] = round(figures[name], 3)
    return figures


def random_period(rng: random.Random) -> tuple[datetime, datetime]:
    """Whole days and partial ones, or a few hours within a day, ending now or earlier, in Berlin time."""
    until = NOW - timedelta(minutes=rng.choice((0, rng.randrange(1, 3 * 24 * 60))))
    since = until - timedelta(minutes=rng.choice((rng.randrange(30, 600), rng.randrange(1, 14 * 24 * 60))))
    return since, until


async def test_any_period_counts_exactly_what_a_count_of_the_cases_gives(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner, (limited,) = await org_with(client, "viewer")
    north = await make_unit(app, owner.org_id, "North", limited)
    south = await make_unit(app, owner.org_id, "South")
    rng = random.Random(2026)
    cases = generated(rng, [north, south, None])
    ids = await insert_cases(app, owner.org_id, cases)

    async def check(round_: str) -> None:
        for _ in range(6):
            since, until = random_period(rng)
            params = {"from": since.astimezone(BERLIN).isoformat(), "to": until.astimezone(BERLIN).isoformat()}
            for headers, units in ((owner.headers, None), (limited.in_org(owner.org_id), {north})):
                body = await overview(client, headers, **params, tz="Europe/Berlin")
                want = rounded(expected(cases, since, until, units))
                want["by_unit"] = {None if key is None else key: count for key, count in want["by_unit"].items()}
                assert answered(body["cases"]) == want, f"{round_}: {params}"

    await check("as imported")
    # People work the cases: old ones resolved (their opening day changes too), moved, relabelled, deleted.
    async with app.state.sessionmaker() as session, session.begin():
        for index in rng.sample(range(len(cases)), 30):
            case = cases[index]
            if case.resolved_at is None:
                resolved_at = NOW - timedelta(minutes=rng.randrange(0, 60))
                cases[index] = replace(case, status="resolved", resolved_at=max(resolved_at, case.opened_at))
            else:
                cases[index] = replace(case, status="open", resolved_at=None)
            cases[index] = replace(cases[index], unit_id=rng.choice([north, south, None]), category="returns")
            new = cases[index]
            await session.execute(
                update(Record)
                .where(Record.document_id == ids[index])
                .values(case_status=new.status, resolved_at=new.resolved_at, unit_id=new.unit_id, category=new.category)
            )
        gone = rng.sample(range(len(cases)), 10)
        await session.execute(delete(Document).where(Document.id.in_([ids[index] for index in gone])))
        cases = [case for index, case in enumerate(cases) if index not in gone]
    await check("after people's changes")
    # Cases moved to another unit and nothing else.
    alive = [index for index in range(len(ids)) if ids[index] not in {ids[gone_index] for gone_index in gone}]
    async with app.state.sessionmaker() as session, session.begin():
        for position in rng.sample(range(len(cases)), 20):
            unit = south if cases[position].unit_id == north else north
            cases[position] = replace(cases[position], unit_id=unit)
            await session.execute(update(Record).where(Record.document_id == ids[alive[position]]).values(unit_id=unit))
    await check("after moves")


async def test_a_day_marked_stale_is_computed_again_once_and_a_busy_refresh_is_not_waited_for(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    owner, _ = await org_with(client)
    await insert_cases(app, owner.org_id, [Case(NOW - timedelta(days=3)), Case(NOW - timedelta(days=5))])
    async with app.state.sessionmaker() as session:
        marked = await session.scalar(select(func.count()).where(CaseDayStale.org_id == owner.org_id))
    assert marked == 2
    refresh = text("SELECT refresh_case_days(:org_id)")
    async with app.state.sessionmaker() as holder, holder.begin():
        assert await holder.scalar(refresh, {"org_id": owner.org_id}) == 2
        # Another transaction finds the organization being refreshed: it reads what is committed, and does not wait.
        async with app.state.sessionmaker() as other, other.begin():
            await other.execute(text("SET LOCAL lock_timeout = '1s'"))
            assert await other.scalar(refresh, {"org_id": owner.org_id}) == 0
    async with app.state.sessionmaker() as session, session.begin():
        assert await session.scalar(refresh, {"org_id": owner.org_id}) == 0
    body = await overview(client, owner.headers)
    assert body["cases"]["opened"] == 2
