"""SQL of the overview: a few aggregate statements over what the principal sees, each one pass over its rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, String, cast, func, or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.periods import Period
from folio.auth.principal import Principal
from folio.ingestion.extracted import FileKind
from folio.models import BusinessUnit, DocumentTally, Job, JobStatus, Record
from folio.repository import sees_case

# The fields the overview breaks cases down by, in the order of their bit in GROUPING().
CASE_BREAKDOWNS: Mapping[str, Any] = {
    "status": Record.case_status,
    "priority": Record.priority,
    "severity": Record.severity,
    "sentiment": Record.sentiment,
    "category": Record.category,
    "unit": Record.unit_id,
    "channel": Record.channel,
}
# Literal, so that the planner reads the backlog from its partial index (`ix_records_org_id_backlog`) whatever the
# plan cache does with parameters.
BACKLOG = text("records.case_status NOT IN ('resolved', 'closed')")
# Categories and channels are the organization's own words: the largest ones are listed, the rest summed.
MAX_VALUES = 50


@dataclass(slots=True)
class CaseFigures:
    opened: int = 0
    resolved: int = 0
    open_now: int = 0
    overdue_now: int = 0
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
        """Three questions, each read through its own index: the cases opened in the period, those resolved in it,
        and the backlog now."""
        figures = CaseFigures()
        opened = (Record.opened_at >= period.start) & (Record.opened_at < period.end)
        resolved = (Record.resolved_at >= period.start) & (Record.resolved_at < period.end)
        first_response = func.extract("epoch", Record.first_response_at - Record.opened_at)
        figures.opened, median_first_response, figures.first_responses = (
            await self.session.execute(
                self._cases(principal)
                .with_only_columns(
                    func.count(), func.percentile_cont(0.5).within_group(first_response), func.count(first_response)
                )
                .where(opened)
            )
        ).one()
        resolve = func.extract("epoch", Record.resolved_at - Record.opened_at)
        figures.resolved, figures.resolved_late, median_resolve = (
            await self.session.execute(
                self._cases(principal)
                .with_only_columns(
                    func.count(),
                    func.count().filter(Record.resolved_at > Record.due_at),
                    func.percentile_cont(0.5).within_group(resolve),
                )
                .where(resolved)
            )
        ).one()
        figures.open_now, figures.overdue_now = (
            await self.session.execute(
                self._cases(principal)
                .with_only_columns(func.count(), func.count().filter(Record.due_at < func.now()))
                .where(BACKLOG)
            )
        ).one()
        figures.first_response_seconds = _float(median_first_response)
        figures.resolve_seconds = _float(median_resolve)
        figures.breakdowns = await self._breakdowns(principal, opened)
        return figures

    async def _breakdowns(self, principal: Principal, opened: Any) -> dict[str, dict[str | None, int]]:
        """Cases opened in the period by each field, in one pass (GROUPING SETS)."""
        columns = [cast(column, String) for column in CASE_BREAKDOWNS.values()]
        statement = (
            self._cases(principal)
            .with_only_columns(func.grouping(*columns).label("sets"), *columns, func.count())
            .where(opened)
            .group_by(func.grouping_sets(*columns))
        )
        names = list(CASE_BREAKDOWNS)
        found: dict[str, dict[str | None, int]] = {name: {} for name in names}
        for row in (await self.session.execute(statement)).all():
            # GROUPING() has a 1 bit for every column the row is not grouped by: the one 0 bit names its field.
            index = next(index for index in range(len(names)) if not row.sets >> (len(names) - 1 - index) & 1)
            found[names[index]][row[1 + index]] = int(row[-1])
        return {name: dict(_largest(values)) for name, values in found.items()}

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


def _largest(values: dict[str | None, int]) -> list[tuple[str | None, int]]:
    ranked = sorted(values.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
    kept = ranked[:MAX_VALUES]
    rest = sum(count for _, count in ranked[MAX_VALUES:])
    return kept + ([("__other__", rest)] if rest else [])


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
