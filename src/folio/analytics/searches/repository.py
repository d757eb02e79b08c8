"""SQL of search analytics: the organization's search log in a period, grouped by normalised query and by mode."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, CTE, ColumnElement, Float, Integer, Select, case, cast, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.periods import Period
from folio.auth.principal import Principal
from folio.models import SearchQuery

PERCENTILES = (0.5, 0.95, 0.99)
SLOW_PERCENTILE = 0.95
# The period's latencies at these shares tell `queries` which queries may be among the slowest (few levels: each
# is a count per query in its hash aggregation).
SLOW_LEVELS = (0.9, 0.95, 0.97, 0.98, 0.99)


@dataclass(frozen=True, slots=True)
class Latency:
    searches: int
    zero_results: int
    mean_hits: float
    p50: float | None
    p95: float | None
    p99: float | None
    # The latency at each of SLOW_LEVELS' shares, lowest first (empty without searches).
    slow_levels: tuple[float, ...]


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
    distinct_queries: int
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
        """Each mode's figures, and all searches' (under None), in one pass (GROUPING SETS): one sort by mode, and
        one sort of each group's latencies shared by all its percentiles."""
        latency = SearchQuery.latency_ms
        statement = (
            self._searches(principal, period, mode, source)
            .with_only_columns(
                func.grouping(SearchQuery.mode).label("total"),
                SearchQuery.mode,
                func.count(),
                func.count().filter(SearchQuery.hit_count == 0),
                func.coalesce(func.avg(SearchQuery.hit_count), 0),
                *(
                    func.percentile_cont(literal(shares, ARRAY(Float))).within_group(latency)
                    for shares in (PERCENTILES, SLOW_LEVELS)
                ),
            )
            .group_by(func.rollup(SearchQuery.mode))
        )
        rows = (await self.session.execute(statement)).all()
        figures: dict[str | None, Latency] = {}
        for total, row_mode, searches, zero, hits, percentiles, levels in rows:
            # Null without searches: the total of an empty period.
            p50, p95, p99 = percentiles or (None, None, None)
            figures[None if total else row_mode] = Latency(
                searches, zero, float(hits), p50, p95, p99, tuple(levels or ())
            )
        return figures

    async def queries(
        self,
        principal: Principal,
        period: Period,
        *,
        mode: str | None,
        source: str | None,
        limit: int,
        slow_min_searches: int,
        slow_levels: Sequence[float],
    ) -> QueryLists:
        """The most searched queries, those that most often found nothing, and the slowest by their 95th percentile
        among those searched at least `slow_min_searches` times: `limit` of each, and how many queries there are.

        Counts come from one hash aggregation by normalised query, which orders nothing. A percentile needs the
        query's latencies sorted, so example and p95 are computed only for the queries listed and for those that
        may be among the slowest, which `slow_levels` (latencies, lowest first: `Latency.slow_levels`) find."""
        searches = self._searches(principal, period, mode, source)
        grouped = (
            searches.with_only_columns(
                SearchQuery.normalized.label("normalized"),
                func.count().label("searches"),
                func.count().filter(SearchQuery.hit_count == 0).label("zero_results"),
                # A sum, not avg: avg keeps an array per group, and the groups of a month then outgrow work_mem.
                func.sum(SearchQuery.hit_count).label("hits"),
                *(
                    func.count().filter(SearchQuery.latency_ms >= level).label(f"above_{index}")
                    for index, level in enumerate(slow_levels)
                ),
            )
            .group_by(SearchQuery.normalized)
            .cte("grouped")
        )

        def ranked(name: str, *keys: ColumnElement[Any], where: ColumnElement[bool] | None = None) -> CTE:
            """The first `limit` queries by `keys` (descending), then by their text."""
            order = [*(key.desc() for key in keys), grouped.c.normalized]
            statement = select(grouped.c.normalized, *keys).order_by(*order).limit(limit)
            return (statement if where is None else statement.where(where)).cte(name)

        top = ranked("top", grouped.c.searches)
        zero = ranked("zero", grouped.c.zero_results, grouped.c.searches, where=grouped.c.zero_results > 0)
        measured = (
            searches.with_only_columns(
                SearchQuery.normalized.label("normalized"),
                # The raw form asked most often (the first in sort order among equals).
                func.mode().within_group(SearchQuery.query).label("example"),
                func.percentile_cont(SLOW_PERCENTILE).within_group(SearchQuery.latency_ms).label("p95"),
            )
            .where(
                SearchQuery.normalized.in_(
                    union_all(
                        select(top.c.normalized),
                        select(zero.c.normalized),
                        _maybe_slow(grouped, len(slow_levels), min_searches=slow_min_searches, limit=limit),
                    )
                )
            )
            .group_by(SearchQuery.normalized)
            .cte("measured")
        )
        slow = (
            select(measured.c.normalized, measured.c.p95)
            .join(grouped, grouped.c.normalized == measured.c.normalized)
            .where(grouped.c.searches >= slow_min_searches)
            .order_by(measured.c.p95.desc(), measured.c.normalized)
            .limit(limit)
            .cte("slow")
        )

        def listed(name: str, chosen: CTE, *keys: str) -> Select[Any]:
            # Ranked again among the chosen few: the rank keeps each list's order through UNION ALL, which
            # promises none.
            rank = func.row_number().over(order_by=[*(chosen.c[key].desc() for key in keys), chosen.c.normalized])
            return select(literal(name).label("list"), rank.label("rank"), chosen.c.normalized)

        lists = union_all(
            listed("top", top, "searches"),
            listed("zero", zero, "zero_results", "searches"),
            listed("slow", slow, "p95"),
        ).subquery("lists")
        statement = (
            select(
                lists.c.list,
                lists.c.rank,
                grouped.c.normalized,
                measured.c.example,
                grouped.c.searches,
                grouped.c.zero_results,
                grouped.c.hits,
                measured.c.p95,
                select(func.count()).select_from(grouped).scalar_subquery().label("distinct_queries"),
            )
            .join(grouped, grouped.c.normalized == lists.c.normalized)
            .join(measured, measured.c.normalized == lists.c.normalized)
        )
        rows = sorted((await self.session.execute(statement)).all(), key=lambda row: row.rank)
        found: dict[str, list[QueryFigures]] = {"top": [], "zero": [], "slow": []}
        for row in rows:
            found[row.list].append(
                QueryFigures(
                    row.normalized, row.example, row.searches, row.zero_results, row.hits / row.searches, row.p95
                )
            )
        # Any search in the period puts its query in the top list, so no rows means no queries.
        distinct = rows[0].distinct_queries if rows else 0
        return QueryLists(distinct, top=found["top"], zero_results=found["zero"], slow=found["slow"])


def _maybe_slow(grouped: CTE, levels: int, *, min_searches: int, limit: int) -> Select[tuple[str]]:
    """The queries searched at least `min_searches` times that may be among the `limit` slowest by their p95, from
    the counts of their latencies at or above each level (`grouped.c.above_0` for the lowest).

    With k = floor(0.95 × (n − 1)), a query's p95 lies between its (k+1)th and (k+2)th lowest latencies. So if c
    of its n latencies reach a level, c ≥ n − k means its p95 surely reaches it, and c < n − k − 1 that it does
    not. The highest level that `limit` queries surely reach is reached by every query of the slow list: only the
    queries that may reach it are candidates (all of them when no level is surely reached by `limit` queries)."""
    searches = grouped.c.searches
    # n − k, with k computed as percentile_cont computes it (in float8).
    from_k = searches - cast(func.floor(literal(SLOW_PERCENTILE, Float) * (searches - 1)), Integer)

    def highest(reaching: ColumnElement[int]) -> ColumnElement[int]:
        """The highest level (1 for the lowest) that `reaching` of the query's latencies reach, else 0."""
        if not levels:  # no searches, no levels
            return literal(0)
        return case(
            *((grouped.c[f"above_{index}"] >= reaching, index + 1) for index in reversed(range(levels))), else_=0
        )

    eligible = (
        select(
            grouped.c.normalized,
            highest(from_k).label("surely"),
            highest(from_k - 1).label("maybe"),
        )
        .where(searches >= min_searches)
        .cte("eligible")
    )
    reached = select(eligible.c.surely).order_by(eligible.c.surely.desc()).offset(limit - 1).limit(1).scalar_subquery()
    return select(eligible.c.normalized).where(eligible.c.maybe >= func.coalesce(reached, 0))
