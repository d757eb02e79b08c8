from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from folio.analytics.cache import cached
from folio.analytics.deps import AnalyticsAdmin, CacheDep
from folio.analytics.errors import PeriodInvalid, TimezoneInvalid
from folio.analytics.periods import period, zone
from folio.analytics.searches import service
from folio.analytics.searches.schemas import SLOW_MIN_SEARCHES, SearchAnalyticsQuery, SearchAnalyticsRead
from folio.auth.deps import authenticated
from folio.deps import API_V1, SessionDep
from folio.errors import Forbidden
from folio.routing import Router

router = Router(prefix=f"{API_V1}/analytics/searches", tags=["analytics"])


@router.get(
    "",
    response_model=SearchAnalyticsRead,
    responses=authenticated(Forbidden, TimezoneInvalid, PeriodInvalid),
    summary="What people search for: top queries, queries finding nothing, slow queries, latency by mode",
    description="The organization's searches in the period (`POST /search`, and the retrieval of answers, chats "
    "and the OpenAI-compatible endpoint: `source` picks one), grouped by their normalised text, so that `Refund "
    "policy?` and `refund  policy` count as one query (NFKC, casefolded, white space collapsed, punctuation and "
    "symbols around words dropped; accents and word order kept, as the index keeps them). Lists the `limit` most "
    "searched queries, those that most often found nothing, and those with the highest 95th percentile latency "
    f"among the queries searched at least {SLOW_MIN_SEARCHES} times in the period (the 95th percentile of fewer is "
    "mostly one unlucky search), each with an example (the form asked most often, as typed), its hits per search, "
    "its share of searches with no result and its 95th percentile latency; and latency "
    "percentiles (p50, p95, p99, interpolated) with counts for all searches and by mode. Searches are the "
    "organization's people's own words: **admins only** (the `admin` and `analytics` scopes); the queries are "
    "shown without who asked them. Answers are cached per organization and question for "
    "`FOLIO_ANALYTICS__CACHE_SECONDS` (searches record no event, so only time ends them): `X-Cache` says `hit` or "
    "`miss`, and `If-None-Match` with the `ETag` answers 304 when nothing changed.",
)
async def get_search_analytics(
    request: Request,
    principal: AnalyticsAdmin,
    session: SessionDep,
    cache: CacheDep,
    query: Annotated[SearchAnalyticsQuery, Query()],
) -> Response:
    found = period(query.start, query.to, zone(query.tz))

    async def compute() -> SearchAnalyticsRead:
        return await service.searches(
            session, principal=principal, period=found, mode=query.mode, source=query.source, limit=query.limit
        )

    question = query.model_dump(mode="json", exclude={"start", "to"}) | {
        "from": found.start.isoformat(),
        "to": found.end.isoformat(),
    }
    return await cached(request, cache, principal, "searches", question, compute)
