from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from folio.analytics.cache import cached
from folio.analytics.deps import Analyst, CacheDep
from folio.analytics.errors import PeriodInvalid, TimezoneInvalid
from folio.analytics.periods import zone
from folio.analytics.trending import service
from folio.analytics.trending.schemas import TrendingQuery, TrendingRead
from folio.analytics.trending.windows import windows
from folio.auth.deps import authenticated
from folio.deps import API_V1, SessionDep
from folio.errors import Forbidden
from folio.routing import Router

router = Router(prefix=f"{API_V1}/analytics/trending", tags=["analytics"])


@router.get(
    "",
    response_model=TrendingRead,
    responses=authenticated(Forbidden, TimezoneInvalid, PeriodInvalid),
    summary="Terms and categories rising in a window against the windows before it",
    description="Compares the cases opened in the window (`window=7d` ending at `end`, or `from`/`to`) with those "
    "of the `baseline` windows of the same length just before it. An item (a term of the cases' text, as the "
    "full-text index stems it, or the category of their default enrichment) is listed when it is in at least "
    "`min_count` cases of the window and its share of cases rose: Dunning's log-likelihood G² of the share now "
    "against the share before at least 15.13 (p < 0.0001) and the share at least 1.5 times what it was. Terms "
    "leave out stop words, numbers, e-mail addresses, words shorter than 3 letters and those in more than 20 % of "
    "the baseline's cases. Windows are whole UTC days (the end is rounded up to the next UTC midnight, so a window "
    "ending now holds today so far); the answer gives the bounds used. Each item comes with its cases now, its "
    "cases per baseline window, the ratio of shares and up to 3 example cases. A member limited to business units "
    "sees their units' cases only. Answers are cached per organization and question until an event of the "
    "organization arrives (or `FOLIO_ANALYTICS__CACHE_SECONDS` pass): `X-Cache` says `hit` or `miss`, and "
    "`If-None-Match` with the `ETag` answers 304 when nothing changed.",
)
async def get_trending(
    request: Request,
    principal: Analyst,
    session: SessionDep,
    cache: CacheDep,
    query: Annotated[TrendingQuery, Query()],
) -> Response:
    found = windows(
        days=query.window_days, count=query.baseline, start=query.start, to=query.to, end=query.end, tz=zone(query.tz)
    )

    async def compute() -> TrendingRead:
        return await service.trending(
            session,
            principal=principal,
            windows=found,
            kind=query.kind,
            min_count=query.min_count,
            limit=query.limit,
            unit_id=query.unit_id,
        )

    question = query.model_dump(mode="json", include={"kind", "min_count", "limit", "unit_id"}) | {
        "end": found.end.isoformat(),
        "days": found.days,
        "baseline": found.count,
    }
    return await cached(request, cache, principal, "trending", question, compute)
