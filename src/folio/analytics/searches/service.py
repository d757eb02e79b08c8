"""Search analytics: the period's searches by normalised query and by mode."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.periods import Period
from folio.analytics.schemas import PeriodRead
from folio.analytics.searches.repository import Latency, QueryFigures, SearchLogRepository
from folio.analytics.searches.schemas import (
    SLOW_MIN_SEARCHES,
    ModeRead,
    QueryRead,
    SearchAnalyticsRead,
    TotalsRead,
)
from folio.auth.principal import Principal
from folio.search.schemas import SearchMode

_NO_SEARCHES = Latency(0, 0, 0.0, None, None, None, ())


async def searches(
    session: AsyncSession,
    *,
    principal: Principal,
    period: Period,
    mode: SearchMode | None,
    source: str | None,
    limit: int,
) -> SearchAnalyticsRead:
    repository = SearchLogRepository(session)
    asked = None if mode is None else mode.value
    figures = await repository.latency(principal, period, mode=asked, source=source)
    total = figures.get(None, _NO_SEARCHES)
    lists = await repository.queries(
        principal,
        period,
        mode=asked,
        source=source,
        limit=limit,
        slow_min_searches=SLOW_MIN_SEARCHES,
        slow_levels=total.slow_levels,
    )
    modes = sorted(
        ((name, each) for name, each in figures.items() if name is not None),
        key=lambda item: (-item[1].searches, item[0]),
    )
    return SearchAnalyticsRead(
        period=PeriodRead(
            start=period.start.astimezone(period.tz), to=period.end.astimezone(period.tz), tz=period.tz.key
        ),
        mode=mode,
        source=source,
        totals=TotalsRead(distinct_queries=lists.distinct_queries, **_latency(total)),
        by_mode=[ModeRead(mode=name, **_latency(each)) for name, each in modes],
        top_queries=[_query(each) for each in lists.top],
        zero_result_queries=[_query(each) for each in lists.zero_results],
        slow_queries=[_query(each) for each in lists.slow],
    )


def _latency(figures: Latency) -> dict[str, Any]:
    return {
        "searches": figures.searches,
        "zero_results": figures.zero_results,
        "zero_result_share": _share(figures.zero_results, figures.searches),
        "mean_hits": round(figures.mean_hits, 3),
        "p50_latency_ms": _ms(figures.p50),
        "p95_latency_ms": _ms(figures.p95),
        "p99_latency_ms": _ms(figures.p99),
    }


def _query(figures: QueryFigures) -> QueryRead:
    return QueryRead(
        query=figures.normalized,
        example=figures.example,
        searches=figures.searches,
        zero_results=figures.zero_results,
        zero_result_share=_share(figures.zero_results, figures.searches),
        mean_hits=round(figures.mean_hits, 3),
        p95_latency_ms=round(figures.p95, 3),
    )


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
