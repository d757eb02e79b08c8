"""SQL of the overview: a few aggregate statements over what the principal sees, each one pass over its rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import anyio
import numpy as np
from sqlalchemy import Select, String, cast, func, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.periods import Period
from folio.auth.principal import Principal
from folio.ingestion.extracted import FileKind
from folio.models import BusinessUnit, CaseDay, CaseDayLabel, DocumentTally, Job, JobStatus, Record
from folio.repository import sees_case

# The fields the overview breaks cases down by, in the order it lists them.
CASE_BREAKDOWNS = ("status", "priority", "severity", "sentiment", "category", "unit", "channel")
# Literal, so that the planner reads the backlog from its partial index (`ix_records_org_id_backlog`) whatever the
# plan cache does with parameters.
BACKLOG = text("records.case_status NOT IN ('resolved', 'closed')")
# A period's partial days, read from `records` as `refresh_case_days` computes a day (migration e6c7a3f40d02).
_PARTIAL_DAYS = text("SELECT * FROM case_days_between(:org_id, :since, :until)")
_PARTIAL_LABELS = text(
    "SELECT unit_id, field, value, sum(cases) FROM case_day_labels_between(:org_id, :since, :until) GROUP BY 1, 2, 3"
)
# Categories and channels are the organization's own words: the largest ones are listed, the rest summed.
MAX_VALUES = 50


@dataclass(slots=True)
class CaseFigures:
    opened: int = 0
    resolved: int = 0
    resolved_late: int = 0
    first_response_seconds: float | None = None
    first_responses: int = 0
    resolve_seconds: float | None = None
    breakdowns: dict[str, dict[str | None, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class JobFigures:
    kind: str
    counts: dict[str, int]
    p50_seconds: float | None
    p95_seconds: float | None


class OverviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _cases(self, principal: Principal) -> Select[Any]:
        return select(Record).where(Record.org_id == principal.org_id, sees_case(principal, Record.unit_id))

    async def cases(self, principal: Principal, period: Period) -> CaseFigures:
        """The cases opened in the period and those resolved in it. A period's whole UTC days are
        read from `CaseDay` and `CaseDayLabel` (their stale days computed again first), its partial days at either
        end from `records` by the same functions, and the two merged: exact medians at the cost of a few rows a
        day."""
        await self.session.execute(select(func.refresh_case_days(principal.org_id)))
        days = _Days()
        first, last = _day_after(period.start), _day_of(period.end)
        if first < last:
            await self._whole_days(principal, first.date(), last.date(), days)
            edges = [(period.start, first), (last, period.end)]
        else:
            edges = [(period.start, period.end)]
        for since, until in edges:
            if since < until:
                await self._partial_days(principal, since, until, days)
        # The medians sort up to a million packed times each: off the event loop.
        return await anyio.to_thread.run_sync(days.figures)

    async def backlog(self, principal: Principal) -> tuple[int, int]:
        """The cases neither resolved nor closed now, and how many of them are past their due time."""
        open_now, overdue_now = (
            await self.session.execute(
                self._cases(principal)
                .with_only_columns(func.count(), func.count().filter(Record.due_at < func.now()))
                .where(BACKLOG)
            )
        ).one()
        return int(open_now), int(overdue_now)

    async def _whole_days(self, principal: Principal, first: date, last: date, days: _Days) -> None:
        statement = select(
            CaseDay.unit_id,
            CaseDay.opened,
            CaseDay.first_responses,
            CaseDay.first_response_seconds,
            CaseDay.resolved,
            CaseDay.resolved_late,
            CaseDay.resolve_seconds,
        ).where(
            CaseDay.org_id == principal.org_id,
            sees_case(principal, CaseDay.unit_id),
            CaseDay.day >= first,
            CaseDay.day < last,
        )
        for row in (await self.session.execute(statement)).all():
            days.add(*row)
        label = CaseDayLabel
        labels = (
            select(label.field, label.value, func.sum(label.cases))
            .where(label.org_id == principal.org_id, sees_case(principal, label.unit_id))
            .where(label.day >= first, label.day < last)
            .group_by(label.field, label.value)
        )
        for field_name, value, cases in (await self.session.execute(labels)).all():
            days.label(field_name, value, int(cases))

    async def _partial_days(self, principal: Principal, since: datetime, until: datetime, days: _Days) -> None:
        bounds = {"org_id": principal.org_id, "since": since, "until": until}
        for row in (await self.session.execute(_PARTIAL_DAYS, bounds)).all():
            if principal.sees_unit(row.unit_id):
                days.add(row.unit_id, *row[2:])
        for unit_id, field_name, value, cases in (await self.session.execute(_PARTIAL_LABELS, bounds)).all():
            if principal.sees_unit(unit_id):
                days.label(field_name, value, int(cases))

    async def unit_names(self, principal: Principal) -> dict[str, str]:
        rows = await self.session.execute(
            select(BusinessUnit.id, BusinessUnit.name).where(BusinessUnit.org_id == principal.org_id)
        )
        return {str(unit_id): name for unit_id, name in rows.all()}

    async def documents(self, principal: Principal) -> tuple[dict[str, int], dict[str, int], int, int]:
        """Documents the principal sees, by status and by kind; their chunks and stored bytes. Summed from the
        tallies (`DocumentTally`): a member limited to units sees every document but the cases of other units."""
        tally = DocumentTally
        statement = (
            select(tally.status, tally.kind, func.sum(tally.documents), func.sum(tally.chunks), func.sum(tally.bytes))
            .where(tally.org_id == principal.org_id)
            .group_by(tally.status, tally.kind)
        )
        if principal.units is not None:
            statement = statement.where(or_(tally.kind != FileKind.RECORD, tally.unit_id.in_(principal.units)))
        by_status: dict[str, int] = {}
        by_kind: dict[str, int] = {}
        chunks = size = 0
        for status, kind, count, row_chunks, row_size in (await self.session.execute(statement)).all():
            chunks, size = chunks + int(row_chunks), size + int(row_size)
            if count:
                by_status[status] = by_status.get(status, 0) + int(count)
                by_kind[kind] = by_kind.get(kind, 0) + int(count)
        return by_status, by_kind, chunks, size

    async def jobs(self, principal: Principal, period: Period) -> list[JobFigures]:
        """The organization's jobs created in the period, by kind: how many in each status, and how long the
        finished ones ran (p50, p95)."""
        seconds = func.extract("epoch", Job.finished_at - Job.started_at)
        finished = Job.finished_at.is_not(None) & Job.started_at.is_not(None)
        statement = (
            select(
                Job.kind,
                cast(Job.status, String),
                func.count(),
                func.percentile_cont(0.5).within_group(seconds).filter(finished),
                func.percentile_cont(0.95).within_group(seconds).filter(finished),
            )
            .where(Job.org_id == principal.org_id, Job.created_at >= period.start, Job.created_at < period.end)
            .group_by(func.grouping_sets(tuple_(Job.kind, cast(Job.status, String)), Job.kind))
            .order_by(Job.kind)
        )
        counts: dict[str, dict[str, int]] = {}
        durations: dict[str, tuple[float | None, float | None]] = {}
        for kind, status, count, p50, p95 in (await self.session.execute(statement)).all():
            if status is None:
                durations[kind] = (_float(p50), _float(p95))
            else:
                counts.setdefault(kind, dict.fromkeys((status.value for status in JobStatus), 0))[status] = int(count)
        return [JobFigures(kind, counts.get(kind, {}), *durations[kind]) for kind in durations]


class _Days:
    """The figures of a period's days, summed as their rows are read."""

    def __init__(self) -> None:
        self.opened = self.first_responses = self.resolved = self.resolved_late = 0
        self.first_response_seconds: list[bytes] = []
        self.resolve_seconds: list[bytes] = []
        self.by_unit: dict[str | None, int] = {}
        self.labels: dict[str, dict[str | None, int]] = {name: {} for name in CASE_BREAKDOWNS}

    def add(
        self,
        unit_id: UUID | None,
        opened: int,
        first_responses: int,
        first_response_seconds: bytes | None,
        resolved: int,
        resolved_late: int,
        resolve_seconds: bytes | None,
    ) -> None:
        self.opened += opened
        self.first_responses += first_responses
        self.resolved += resolved
        self.resolved_late += resolved_late
        if opened:
            unit = None if unit_id is None else str(unit_id)
            self.by_unit[unit] = self.by_unit.get(unit, 0) + opened
        if first_response_seconds:
            self.first_response_seconds.append(first_response_seconds)
        if resolve_seconds:
            self.resolve_seconds.append(resolve_seconds)

    def label(self, field_name: str, value: str | None, cases: int) -> None:
        values = self.labels[field_name]
        values[value] = values.get(value, 0) + cases

    def figures(self) -> CaseFigures:
        self.labels["unit"] = self.by_unit
        return CaseFigures(
            opened=self.opened,
            resolved=self.resolved,
            resolved_late=self.resolved_late,
            first_response_seconds=_median(self.first_response_seconds),
            first_responses=self.first_responses,
            resolve_seconds=_median(self.resolve_seconds),
            breakdowns={name: dict(_largest(self.labels[name])) for name in CASE_BREAKDOWNS},
        )


def _median(packed: list[bytes]) -> float | None:
    """The median of the seconds in `packed` (big-endian float8s), as `percentile_cont(0.5)` computes it."""
    seconds = np.frombuffer(b"".join(packed), dtype=">f8")
    return float(np.median(seconds)) if seconds.size else None


def _day_of(moment: datetime) -> datetime:
    """The UTC midnight that starts the day of `moment`."""
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _day_after(moment: datetime) -> datetime:
    """The first UTC midnight at or after `moment`."""
    day = _day_of(moment)
    return day if day == moment else day + timedelta(days=1)


def _largest(values: dict[str | None, int]) -> list[tuple[str | None, int]]:
    ranked = sorted(values.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
    kept = ranked[:MAX_VALUES]
    rest = sum(count for _, count in ranked[MAX_VALUES:])
    return kept + ([("__other__", rest)] if rest else [])


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
