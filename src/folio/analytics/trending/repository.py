"""SQL of trending: counts of cases now and before, by lexeme (from the daily rollups) and by category (from
`records`), and example cases, all within the cases the principal sees (and the unit asked)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ARRAY, ColumnElement, Text, Uuid, bindparam, cast, exists, func, select
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.trending.windows import Windows
from folio.auth.principal import Principal
from folio.models import CaseTerm, CaseUnitTerm, Chunk, Document, Record
from folio.repository import sees_case

# Candidate examples read per lexeme (each day's newest case holding it); those no longer in the window, visible or
# holding the lexeme are dropped.
_CANDIDATES = 8


@dataclass(frozen=True, slots=True)
class Scope:
    """The cases counted: the principal's, and with `unit_id` only that unit's."""

    principal: Principal
    unit_id: UUID | None

    @property
    def units(self) -> frozenset[UUID] | None:
        """The units whose cases count; None: every case of the organization, with a unit or without."""
        if self.unit_id is None:
            return self.principal.units
        return frozenset({self.unit_id}) if self.principal.sees_unit(self.unit_id) else frozenset()

    def cases(self) -> list[ColumnElement[bool]]:
        conditions = [Record.org_id == self.principal.org_id, sees_case(self.principal, Record.unit_id)]
        if self.unit_id is not None:
            conditions.append(Record.unit_id == self.unit_id)
        return conditions


@dataclass(frozen=True, slots=True)
class Counts:
    key: str
    now: int
    before: int


@dataclass(frozen=True, slots=True)
class Example:
    id: UUID
    number: int
    title: str
    opened_at: datetime


class TrendingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def categories(self, scope: Scope, windows: Windows) -> tuple[Counts, list[Counts]]:
        """Cases opened in the window and in the baseline, all of them and by category (through the records'
        `(org_id, opened_at)` index)."""
        opened = Record.opened_at
        statement = (
            select(
                func.grouping(Record.category).label("total"),
                Record.category,
                func.count().filter(opened >= windows.start),
                func.count().filter(opened < windows.start),
            )
            .where(*scope.cases(), opened >= windows.baseline_start, opened < windows.end)
            .group_by(func.rollup(Record.category))
        )
        total = Counts("", 0, 0)
        categories: list[Counts] = []
        for grouped, category, now, before in (await self.session.execute(statement)).all():
            if grouped:
                total = Counts("", now, before)
            elif category is not None:
                categories.append(Counts(category, now, before))
        return total, categories

    async def terms(self, scope: Scope, windows: Windows, min_count: int) -> list[Counts]:
        """Lexemes in at least `min_count` cases of the window, with their cases in the window and the baseline:
        sums over the rollup's days (the organization's, or those of the units counted)."""
        units = scope.units
        table: Any = CaseTerm if units is None else CaseUnitTerm
        now = func.sum(table.cases).filter(table.day >= windows.start.date())
        before = func.coalesce(func.sum(table.cases).filter(table.day < windows.start.date()), 0)
        statement = (
            select(table.lexeme, now, before)
            .where(
                table.org_id == scope.principal.org_id,
                table.day >= windows.baseline_start.date(),
                table.day < windows.end.date(),
            )
            .group_by(table.lexeme)
            .having(now >= min_count)
        )
        if units is not None:
            statement = statement.where(table.unit_id.in_(list(units)))
        return [
            Counts(lexeme, int(now), int(before)) for lexeme, now, before in (await self.session.execute(statement))
        ]

    async def term_examples(self, scope: Scope, windows: Windows, lexemes: Collection[str]) -> dict[str, list[Example]]:
        """Cases of the window holding each lexeme now, newest first, found from the rollup's examples (each day's
        newest case that added the lexeme), not by reading the window's texts."""
        units = scope.units
        table: Any = CaseTerm if units is None else CaseUnitTerm
        candidates = (
            select(table.lexeme, table.example)
            .where(
                table.org_id == scope.principal.org_id,
                table.day >= windows.start.date(),
                table.day < windows.end.date(),
                table.lexeme.in_(list(lexemes)),
            )
            .order_by(table.lexeme, table.day.desc())
        )
        if units is not None:
            candidates = candidates.where(table.unit_id.in_(list(units)))
        chosen: dict[str, list[UUID]] = {}
        for lexeme, case_id in (await self.session.execute(candidates)).all():
            kept = chosen.setdefault(lexeme, [])
            if case_id not in kept and len(kept) < _CANDIDATES:
                kept.append(case_id)
        pairs = [(lexeme, case_id) for lexeme, ids in chosen.items() for case_id in ids]
        if not pairs:
            return {}
        return await self._holding(scope, windows, pairs)

    async def _holding(
        self, scope: Scope, windows: Windows, pairs: Sequence[tuple[str, UUID]]
    ) -> dict[str, list[Example]]:
        asked = (
            func.unnest(
                bindparam("lexemes", [lexeme for lexeme, _ in pairs], type_=ARRAY(Text)),
                bindparam("case_ids", [case_id for _, case_id in pairs], type_=ARRAY(Uuid)),
                bindparam("queries", [_tsquery(lexeme) for lexeme, _ in pairs], type_=ARRAY(Text)),
            )
            .table_valued("lexeme", "case_id", "query")
            .render_derived("asked")
        )
        holds = exists().where(
            Chunk.document_id == Document.id,
            Chunk.version == Document.version,
            Chunk.search_vector.op("@@")(cast(asked.c.query, TSQUERY)),
        )
        statement = (
            select(asked.c.lexeme, Record.document_id, Record.number, Document.title, Record.opened_at)
            .select_from(asked)
            .join(Record, Record.document_id == asked.c.case_id)
            .join(Document, Document.id == Record.document_id)
            .where(*scope.cases(), Record.opened_at >= windows.start, Record.opened_at < windows.end, holds)
        )
        found: dict[str, list[Example]] = {}
        for lexeme, case_id, number, title, opened_at in (await self.session.execute(statement)).all():
            found.setdefault(lexeme, []).append(Example(case_id, number, title, opened_at))
        return found

    async def category_examples(
        self, scope: Scope, windows: Windows, categories: Collection[str], per_category: int
    ) -> dict[str, list[Example]]:
        """The newest cases of the window in each category."""
        newest = func.row_number().over(
            partition_by=Record.category, order_by=(Record.opened_at.desc(), Record.document_id.desc())
        )
        ranked = (
            select(
                Record.category,
                Record.document_id,
                Record.number,
                Document.title,
                Record.opened_at,
                newest.label("rank"),
            )
            .join(Document, Document.id == Record.document_id)
            .where(
                *scope.cases(),
                Record.opened_at >= windows.start,
                Record.opened_at < windows.end,
                Record.category.in_(list(categories)),
            )
            .subquery()
        )
        statement = select(ranked).where(ranked.c.rank <= per_category)
        found: dict[str, list[Example]] = {}
        for row in (await self.session.execute(statement)).all():
            found.setdefault(row.category, []).append(Example(row.document_id, row.number, row.title, row.opened_at))
        return found


def _tsquery(lexeme: str) -> str:
    """A tsquery matching the lexeme as it is (already normalised by the index's configuration)."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"
