"""Trending: the terms and categories whose share of cases rose in the window against the baseline windows.

Counting unit: cases, by `opened_at`. An item is listed when it is in at least `min_count` cases of the window,
its signed Dunning G² is at least `statistic.MIN_SCORE` and its share at least `statistic.MIN_RATIO` times its share
before. Terms present in more than `COMMON_SHARE` of the baseline's cases are words of every case, not news.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.trending.repository import Counts, Example, Scope, TrendingRepository
from folio.analytics.trending.schemas import (
    BaselineRead,
    CaseRef,
    CategoryTrend,
    TermTrend,
    TrendingRead,
    TrendKind,
    WindowRead,
)
from folio.analytics.trending.statistic import rising
from folio.analytics.trending.windows import Windows
from folio.auth.principal import Principal
from folio.cases.workflow import case_number

COMMON_SHARE = 0.2
EXAMPLES = 3


@dataclass(frozen=True, slots=True)
class Rising:
    counts: Counts
    score: float
    ratio: float | None


async def trending(
    session: AsyncSession,
    *,
    principal: Principal,
    windows: Windows,
    kind: TrendKind,
    min_count: int,
    limit: int,
    unit_id: UUID | None,
) -> TrendingRead:
    repository = TrendingRepository(session)
    scope = Scope(principal, unit_id)
    total, categories = await repository.categories(scope, windows)
    terms: list[TermTrend] | None = None
    if kind is not TrendKind.CATEGORIES:
        common = COMMON_SHARE * total.before
        found = _rising(
            [each for each in await repository.terms(scope, windows, min_count) if each.before <= common],
            total,
            limit,
        )
        examples = await repository.term_examples(scope, windows, [each.counts.key for each in found]) if found else {}
        terms = [TermTrend(term=each.counts.key, **_figures(each, examples, windows)) for each in found]
    rising_categories: list[CategoryTrend] | None = None
    if kind is not TrendKind.TERMS:
        found = _rising([each for each in categories if each.now >= min_count], total, limit)
        keys = [each.counts.key for each in found]
        examples = await repository.category_examples(scope, windows, keys, EXAMPLES) if found else {}
        rising_categories = [
            CategoryTrend(category=each.counts.key, **_figures(each, examples, windows)) for each in found
        ]
    return TrendingRead(
        window=WindowRead(start=windows.start, to=windows.end, days=windows.days, cases=total.now),
        baseline=BaselineRead(
            start=windows.baseline_start, to=windows.start, windows=windows.count, cases=total.before
        ),
        unit_id=unit_id,
        min_count=min_count,
        terms=terms,
        categories=rising_categories,
    )


def _rising(candidates: Sequence[Counts], total: Counts, limit: int) -> list[Rising]:
    found = []
    for counts in candidates:
        outcome = rising(counts.now, counts.before, total.now, total.before)
        if outcome is not None:
            found.append(Rising(counts, *outcome))
    return sorted(found, key=lambda each: (-each.score, each.counts.key))[:limit]


def _figures(each: Rising, examples: dict[str, list[Example]], windows: Windows) -> dict[str, Any]:
    newest = sorted(
        examples.get(each.counts.key, []), key=lambda example: (example.opened_at, example.id), reverse=True
    )
    return {
        "score": round(each.score, 3),
        "count_now": each.counts.now,
        "count_before": round(each.counts.before / windows.count, 3),
        "ratio": None if each.ratio is None else round(each.ratio, 3),
        "examples": [
            CaseRef(id=example.id, number=case_number(example.number), title=example.title)
            for example in newest[:EXAMPLES]
        ],
    }
