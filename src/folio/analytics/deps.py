from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from folio.analytics.cache import AnalyticsCache
from folio.auth.deps import requires
from folio.auth.principal import Principal, Scope


def _cache(request: Request) -> AnalyticsCache:
    cache: AnalyticsCache = request.app.state.analytics_cache
    return cache


CacheDep = Annotated[AnalyticsCache, Depends(_cache)]
Analyst = Annotated[Principal, requires(Scope.ANALYTICS)]
AnalyticsAdmin = Annotated[Principal, requires(Scope.ANALYTICS, Scope.ADMIN)]
