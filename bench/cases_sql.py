"""bench/cases.py's own look at the database: cases to assign, a run's outcome, the alert evaluation timed
in-process, and EXPLAIN ANALYZE of the statements a page request runs."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from folio.alerts import evaluation
from folio.auth.principal import Principal
from folio.cases import service as cases
from folio.cases.schemas import CaseQueryParams
from folio.db import create_engine, create_sessionmaker
from folio.feed import service as feed
from folio.feed.repository import FeedFilters
from folio.inbox import service as inbox
from folio.models import Role
from folio.pagination import PageRequest
from folio.settings import Settings

# The jobs' steps: records indexed per step (FOLIO_RECORDS__INDEX_RECORDS) and enrichments written per step.
STEP = 64
_EXECUTION = re.compile(r"Execution Time: ([0-9.]+) ms")


async def open_unassigned(url: str, org_id: UUID, unit_id: UUID, limit: int) -> list[UUID]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT document_id FROM records WHERE org_id = $1 AND unit_id = $2 AND case_status = 'open' "
            "AND assigned_to IS NULL ORDER BY document_id LIMIT $3",
            org_id,
            unit_id,
            limit,
        )
    finally:
        await connection.close()
    return [row["document_id"] for row in rows]


async def analyze(url: str) -> None:
    """Statistics for everything seeding wrote, as autovacuum would gather them on a live server."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def count(url: str, table_name: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        rows: int = await connection.fetchval(f"SELECT count(*) FROM {table_name}")  # noqa: S608 — our own names
    finally:
        await connection.close()
    return rows


@dataclass(frozen=True, slots=True)
class Outcome:
    alerts: int
    matches: int
    notifications: int

    def __str__(self) -> str:
        return f"{self.alerts} alerts, {self.matches} matches, {self.notifications} alert notifications"


async def outcome(url: str, org_id: UUID, batch_id: str) -> Outcome:
    connection = await asyncpg.connect(url)
    try:
        alerts = await connection.fetchval("SELECT count(*) FROM alerts WHERE org_id = $1", org_id)
        matches = await connection.fetchval("SELECT count(*) FROM alert_matches WHERE org_id = $1", org_id)
        notifications = await connection.fetchval(
            "SELECT count(*) FROM notifications WHERE org_id = $1 AND kind = 'alert'", org_id
        )
    finally:
        await connection.close()
    return Outcome(alerts, matches, notifications)


@dataclass(frozen=True, slots=True)
class Evaluation:
    steps: int
    batch_seconds: float
    periodic_seconds: float

    def __str__(self) -> str:
        return f"{self.batch_seconds:.1f} s over {self.steps} steps, periodic {self.periodic_seconds:.2f} s"


async def evaluate(url: str, org_id: UUID, batch_id: str) -> Evaluation:
    """The evaluations a batch's job ran, again and timed, in one transaction rolled back at the end: the alerts and
    alert notifications of the run deleted first (so that alerts are raised, announced and notified as in the run),
    then per step of 64 cases the evaluation after indexing and the one after enrichment; then one periodic
    evaluation. The step's cases already carry their labels here, so the evaluation after indexing finds label
    matches that the job's (before the labels existed) did not: if anything, an overestimate."""
    engine = create_engine(url, Settings(_env_file=None, database_url=url))
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session:
            rows = await session.execute(
                text("SELECT document_id FROM records WHERE batch_id = :batch ORDER BY document_id"),
                {"batch": UUID(batch_id)},
            )
            ids = [row[0] for row in rows.all()]
            await session.execute(text("DELETE FROM alerts WHERE org_id = :org"), {"org": org_id})
            await session.execute(
                text("DELETE FROM notifications WHERE org_id = :org AND kind = 'alert'"), {"org": org_id}
            )
            spent = 0.0
            for first in range(0, len(ids), STEP):
                step = ids[first : first + STEP]
                started = time.perf_counter()
                await evaluation.evaluate_indexed(session, org_id=org_id, document_ids=step)
                await evaluation.evaluate_enriched(session, org_id=org_id, document_ids=step)
                spent += time.perf_counter() - started
            started = time.perf_counter()
            await evaluation.evaluate_periodic(session, org_id=org_id)
            periodic = time.perf_counter() - started
            await session.rollback()
    finally:
        await engine.dispose()
    return Evaluation(-(-len(ids) // STEP), spent, periodic)


# EXPLAIN ANALYZE of what a request's service call runs.

Call = Callable[[AsyncSession], Awaitable[Any]]


def editor(org_id: UUID, user_id: UUID, units: Sequence[UUID]) -> Principal:
    return Principal.for_member(org_id=org_id, user_id=user_id, role=Role.EDITOR, units=frozenset(units))


def page_calls(reader: Principal, quiet: Principal, unit_id: UUID) -> list[Call | None]:
    """The service calls behind bench/cases.py's endpoints, in their order (None: not profiled)."""

    async def cases_in_unit(session: AsyncSession) -> Any:
        query = CaseQueryParams(unit_id=[unit_id], status=["open"], severity="high")
        return await cases.page_cases(session, principal=reader, query=query)

    async def cases_filtered(session: AsyncSession) -> Any:
        query = CaseQueryParams(status=["open"], priority=["high"], severity="critical")
        return await cases.page_cases(session, principal=reader, query=query)

    def feed_page(principal: Principal) -> Call:
        async def call(session: AsyncSession) -> Any:
            filters = FeedFilters(types=feed.DEFAULT_TYPES)
            return await feed.page_feed(session, principal=principal, filters=filters, page=PageRequest())

        return call

    async def inbox_page(session: AsyncSession) -> Any:
        return await inbox.page_inbox(session, principal=reader, page=PageRequest())

    return [cases_in_unit, cases_filtered, feed_page(reader), feed_page(quiet), inbox_page, None]


async def profile(url: str, calls: Sequence[Call | None]) -> list[tuple[float | None, str]]:
    """For each call: the summed execution time of its statements under EXPLAIN ANALYZE (each run once before, so
    that its pages are cached as on a busy server), and their plans."""
    engine = create_engine(url, Settings(_env_file=None, database_url=url))
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    results: list[tuple[float | None, str]] = []
    try:
        for call in calls:
            if call is None:
                results.append((None, ""))
                continue
            captured.clear()
            event.listen(engine.sync_engine, "before_cursor_execute", capture)
            try:
                async with AsyncSession(engine) as session:
                    await call(session)
                    await session.rollback()
            finally:
                event.remove(engine.sync_engine, "before_cursor_execute", capture)
            total, plans = 0.0, []
            async with engine.connect() as connection:
                for statement, parameters in captured:
                    if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                        continue
                    explain = "EXPLAIN (ANALYZE, BUFFERS) " + statement
                    await connection.exec_driver_sql(explain, parameters)
                    lines = [row[0] for row in await connection.exec_driver_sql(explain, parameters)]
                    plan = "\n".join(lines)
                    found = _EXECUTION.search(plan)
                    total += float(found.group(1)) if found else 0.0
                    plans.append(f"{statement}\n{parameters}\n{plan}")
                await connection.rollback()
            results.append((total, "\n\n".join(plans)))
    finally:
        await engine.dispose()
    return results
