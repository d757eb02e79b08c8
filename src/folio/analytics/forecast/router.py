from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Query, Request, Response

from folio.analytics.cache import cached
from folio.analytics.deps import Analyst, CacheDep
from folio.analytics.errors import FilterNotApplicable, TimezoneInvalid
from folio.analytics.forecast import service
from folio.analytics.forecast.errors import ForecastHistoryTooShort
from folio.analytics.forecast.ets import LEVELS, MIN_HISTORY_DAYS
from folio.analytics.forecast.schemas import ForecastQuery, ForecastRead
from folio.analytics.periods import zone
from folio.auth.deps import authenticated
from folio.cases.schemas import CaseQuery
from folio.deps import API_V1, SessionDep
from folio.enrichment.errors import EnrichmentSchemaNotFound
from folio.errors import Forbidden
from folio.routing import Router

router = Router(prefix=f"{API_V1}/analytics", tags=["analytics"])


@router.get(
    "/forecast",
    response_model=ForecastRead,
    responses=authenticated(
        Forbidden, TimezoneInvalid, FilterNotApplicable, EnrichmentSchemaNotFound, ForecastHistoryTooShort
    ),
    summary="Daily counts forecast, with prediction intervals and the method's backtest against seasonal naive",
    description=(
        "The next `horizon` days (1–60) of a daily count — cases opened, cases resolved, documents, searches — per "
        "group of `group_by` (the 10 largest at most, the rest as `__other__`), or for everything. The method is "
        "exponential smoothing, ETS(A,Ad,A) with a weekly season, learnt from the `history` whole days (28–365) "
        f"before `to` in `tz`; prediction intervals at {' and '.join(map(str, LEVELS))} %, counts and bounds never "
        "below zero. Beside each forecast, its backtest: the last weeks of the history forecast from the weeks "
        "before, and the error of that forecast (MAE, MASE) next to the error of the seasonal-naive baseline, which "
        "repeats the last week — a method that does not beat it there deserves little trust. A series starts at "
        f"its first day with a count and needs {MIN_HISTORY_DAYS} days; shorter ones are returned with "
        "`insufficient_history: true` and no numbers, and when no series has enough the answer is 422 "
        "`FORECAST_HISTORY_TOO_SHORT`. Case metrics take every filter of `GET /api/v1/cases`; a member limited to "
        "business units forecasts their units' cases. Answers are cached per organization and question until an "
        "event of the organization arrives: `X-Cache` says `hit` or `miss`, and `If-None-Match` with the `ETag` "
        "answers 304 when nothing changed."
    ),
)
async def get_forecast(
    request: Request,
    principal: Analyst,
    session: SessionDep,
    cache: CacheDep,
    query: Annotated[ForecastQuery, Query()],
) -> Response:
    tz = zone(query.tz)
    first_day = query.to or datetime.now(tz).date()
    filters = CaseQuery.model_validate(query.model_dump(include=set(CaseQuery.model_fields), exclude_unset=True))

    async def compute() -> ForecastRead:
        return await service.forecast(
            session,
            principal=principal,
            metric=query.metric,
            group_by=query.group_by,
            query=filters,
            groups=query.groups,
            horizon=query.horizon,
            history=query.history,
            first_day=first_day,
            tz=tz,
        )

    question = query.model_dump(mode="json") | {"to": first_day.isoformat()}
    return await cached(request, cache, principal, "forecast", question, compute)
