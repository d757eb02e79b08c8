from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from folio.analytics import service
from folio.analytics.cache import NOT_MODIFIED, cached
from folio.analytics.deps import Analyst, CacheDep
from folio.analytics.errors import FilterNotApplicable, PeriodInvalid, TimezoneInvalid
from folio.analytics.periods import period, zone
from folio.analytics.schemas import OverviewRead, PeriodQuery, TimeseriesQuery, TimeseriesRead
from folio.analytics.series import Metric
from folio.auth.deps import authenticated
from folio.auth.principal import Scope
from folio.cases.schemas import CaseQuery
from folio.deps import API_V1, SessionDep
from folio.enrichment.errors import EnrichmentSchemaNotFound
from folio.errors import Forbidden
from folio.routing import Router

router = Router(prefix=f"{API_V1}/analytics", tags=["analytics"])

_CACHING = (
    " Answers are cached per organization and question until an event of the organization arrives (or "
    "`FOLIO_ANALYTICS__CACHE_SECONDS` pass): `X-Cache` says `hit` or `miss`, and `If-None-Match` with the `ETag` "
    "answers 304 when nothing changed."
)
_PERIOD_ERRORS = (Forbidden, TimezoneInvalid, PeriodInvalid)


@router.get(
    "/overview",
    response_model=OverviewRead,
    responses=authenticated(*_PERIOD_ERRORS) | NOT_MODIFIED,
    summary="The state of cases, documents, jobs and usage",
    description="Cases opened and resolved in the period with their breakdowns by status, priority, severity, "
    "sentiment, category, business unit and channel (the 50 largest values; the rest as `__other__`), the median "
    "times to first response and to resolution, and SLA breaches; the backlog now; documents by status and kind "
    "with chunks and stored bytes; jobs of the period by kind with run-time percentiles; tokens and cost this "
    "month against the budget. A member limited to business units sees their units' cases only." + _CACHING,
)
async def get_overview(
    request: Request,
    principal: Analyst,
    session: SessionDep,
    cache: CacheDep,
    query: Annotated[PeriodQuery, Query()],
) -> Response:
    found = period(query.start, query.to, zone(query.tz))

    async def compute() -> OverviewRead:
        return await service.overview(session, principal=principal, period=found)

    question = {"from": found.start.isoformat(), "to": found.end.isoformat(), "tz": query.tz}
    # Usage is the organization's for admins, everyone else's own.
    personal = not principal.has(Scope.ADMIN)
    return await cached(request, cache, principal, "overview", question, compute, personal=personal)


@router.get(
    "/timeseries",
    response_model=TimeseriesRead,
    responses=authenticated(*_PERIOD_ERRORS, FilterNotApplicable, EnrichmentSchemaNotFound) | NOT_MODIFIED,
    summary="A metric over time, bucketed in your time zone, one series per group",
    description="Counts of `cases` (at opening), `resolved` cases, `documents`, `searches`, or the sum of model "
    "`tokens` or `cost` (admins: the organization's; others: their own calls), per hour, day or week in `tz` "
    "(a day across a DST change is 23 or 25 hours), every bucket present (zero-filled). Case metrics take every "
    "filter of `GET /api/v1/cases`. At most 2,000 buckets and 731 days." + _CACHING,
)
async def get_timeseries(
    request: Request,
    principal: Analyst,
    session: SessionDep,
    cache: CacheDep,
    query: Annotated[TimeseriesQuery, Query()],
) -> Response:
    found = period(query.start, query.to, zone(query.tz))
    filters = CaseQuery.model_validate(query.model_dump(include=set(CaseQuery.model_fields), exclude_unset=True))

    async def compute() -> TimeseriesRead:
        return await service.timeseries(
            session,
            principal=principal,
            metric=query.metric,
            group_by=query.group_by,
            query=filters,
            period=found,
            interval=query.interval,
            groups=query.groups,
        )

    question = query.model_dump(mode="json", exclude={"start", "to"}) | {
        "from": found.start.isoformat(),
        "to": found.end.isoformat(),
    }
    personal = query.metric in (Metric.TOKENS, Metric.COST) and not principal.has(Scope.ADMIN)
    return await cached(request, cache, principal, "timeseries", question, compute, personal=personal)
