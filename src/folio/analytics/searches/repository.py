"""SQL of search analytics: the organization's search log in a period, grouped by normalised query and by mode."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, Select, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.periods import Period
from folio.auth.principal import Principal
from folio.models import SearchQuery


@dataclass(frozen=True, slots=True)
class Latency:
    searches: int
    distinct_queries: int
    zero_results: int
    mean_hits: float
    p50: float | None
    p95: float | None
    p99: float | None


@dataclass(frozen=True, slots=True)
class QueryFigures:
    normalized: str
    example: str
    searches: int
    zero_results: int
    mean_hits: float
    p95: float


@dataclass(frozen=True, slots=True)
class QueryLists:
    top: list[QueryFigures]
    zero_results: list[QueryFigures]
    slow: list[QueryFigures]


class SearchLogRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def _searches(principal: Principal, period: Period, mode: str | None, source: str | None) -> Select[Any]:
        """The organization's searches in the period (read through its `(org_id, created_at)` index)."""
        statement = select(SearchQuery).where(
            SearchQuery.org_id == principal.org_id,
            SearchQuery.created_at >= period.start,
            SearchQuery.created_at < period.end,
        )
        if mode is not None:
            statement = statement.where(SearchQuery.mode == mode)
        if source is not None:
            statement = statement.where(SearchQuery.source == source)
        return statement

    async def latency(
        self, principal: Principal, period: Period, *, mode: str | None, source: str | None
    ) -> dict[str | None, Latency]:
        """Each mode's figures, and all searches' (under None), in one pass (GROUPING SETS)."""
        latency = SearchQuery.latency_ms
        statement = (
            self._searches(principal, period, mode, source)
            .with_only_columns(
                func.grouping(SearchQuery.mode).label("total"),
                SearchQuery.mode,
                func.count(),
                func.count(SearchQuery.normalized.distinct()),
                func.count().filter(SearchQuery.hit_count == 0),
                func.coalesce(func.avg(SearchQuery.hit_count), 0),
                *(func.percentile_cont(share).within_group(latency) for share in (0.5, 0.95, 0.99)),
            )
            .group_by(func.rollup(SearchQuery.mode))
        )
        rows = (await self.session.execute(statement)).all()
        return {
            None if total else row_mode: Latency(
                searches,
                distinct,
                zero,
                float(hits),
                *(None if value is None else float(value) for value in percentiles),
            )
            for total, row_mode, searches, distinct, zero, hits, *percentiles in rows
        }

    async def queries(
        self, principal: Principal, period: Period, *, mode: str | None, source: str | None, limit: int
    ) -> QueryLists:
        """The most searched queries, those that most often found nothing, and the slowest (by their 95th
        percentile), `limit` of each, from one grouping of the period's searches by normalised query."""
        zero = func.count().filter(SearchQuery.hit_count == 0)
        grouped = (
            self._searches(principal, period, mode, source)
            .with_only_columns(
                SearchQuery.normalized.label("normalized"),
                # The raw form asked most often (the first in sort order among equals).
                func.mode().within_group(SearchQuery.query).label("example"),
                func.count().label("searches"),
                zero.label("zero_results"),
                cast(func.avg(SearchQuery.hit_count), Float).label("mean_hits"),
                func.percentile_cont(0.95).within_group(SearchQuery.latency_ms).label("p95"),
            )
            .group_by(SearchQuery.normalized)
            .cte("grouped")
        )

        def listed(name: str, *order: Any, where: ColumnElement[bool] | None = None) -> Select[Any]:
            # The rank keeps each list's order through UNION ALL, which promises none.
            rank = func.row_number().over(order_by=[*order, grouped.c.normalized])
            statement = select(literal(name).label("list"), rank.label("rank"), *grouped.c).order_by(rank)
            return (statement if where is None else statement.where(where)).limit(limit)

        statement = union_all(
            listed("top", grouped.c.searches.desc()),
            listed("zero", grouped.c.zero_results.desc(), grouped.c.searches.desc(), where=grouped.c.zero_results > 0),
            listed("slow", grouped.c.p95.desc()),
        )
        lists: dict[str, list[QueryFigures]] = {"top": [], "zero": [], "slow": []}
        rows = sorted((await self.session.execute(statement)).all(), key=lambda row: row.rank)
        for row in rows:
            lists[row.list].append(
                QueryFigures(
                    row.normalized, row.example, row.searches, row.zero_results, float(row.mean_hits), float(row.p95)
                )
            )
        return QueryLists(top=lists["top"], zero_results=lists["zero"], slow=lists["slow"])
