from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from folio.analytics.cache import NOT_MODIFIED, cached
from folio.analytics.deps import Analyst, CacheDep
from folio.analytics.errors import PeriodInvalid, TimezoneInvalid
from folio.analytics.periods import period, zone
from folio.analytics.pulse import service
from folio.analytics.pulse.schemas import PulseQuery, PulseRead
from folio.auth.deps import authenticated
from folio.deps import API_V1, MeterDep, RegistryDep, SessionDep, SettingsDep
from folio.errors import Forbidden
from folio.routing import Router

router = Router(prefix=f"{API_V1}/analytics", tags=["analytics"])


@router.get(
    "/pulse",
    response_model=PulseRead,
    responses=authenticated(Forbidden, TimezoneInvalid, PeriodInvalid) | NOT_MODIFIED,
    summary="A period's figures against the period before, with a short digest",
    description="Cases opened (the volume) and its change in percent, the sentiment mix and its shift in "
    "percentage points, the categories and terms rising most, cases resolved and resolved after their SLA due time, "
    "the backlog now and the median times, each against the period of the same length just before; and `digest`, "
    "a narrative of at most about 120 words written from these figures alone (never from the cases' text) by the "
    "organization's model (`generated_by`: its name, its calls counted as `pulse` usage), or templated from them "
    "offline (`generated_by: offline`). A model that fails or takes more than 20 s leaves the templated digest, "
    "with `fallback_reason` saying why. Default period: the last 7 days; at most 366. A member limited to "
    "business units sees their units' cases only. Answers are cached per organization and question until an event "
    "of the organization arrives (or `FOLIO_ANALYTICS__CACHE_SECONDS` pass), so the model writes once per change: "
    "`X-Cache` says `hit` or `miss`, and `If-None-Match` with the `ETag` answers 304 when nothing changed.",
)
async def get_pulse(
    request: Request,
    principal: Analyst,
    session: SessionDep,
    cache: CacheDep,
    registry: RegistryDep,
    meter: MeterDep,
    settings: SettingsDep,
    query: Annotated[PulseQuery, Query()],
) -> Response:
    found = period(query.start, query.to, zone(query.tz), default_days=service.DEFAULT_DAYS, max_days=service.MAX_DAYS)

    async def compute() -> PulseRead:
        return await service.pulse(
            session,
            principal=principal,
            period=found,
            registry=registry,
            meter=meter,
            temperature=settings.llm.temperature,
        )

    question = {"from": found.start.isoformat(), "to": found.end.isoformat(), "tz": query.tz}
    return await cached(request, cache, principal, "pulse", question, compute)
