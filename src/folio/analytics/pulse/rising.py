"""What rises in a period against the period before: trending's items (`folio.analytics.trending`, Dunning's G² over
whole UTC days) as the pulse lists them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.periods import Period
from folio.analytics.pulse.schemas import RisingRead
from folio.analytics.trending import service as trending
from folio.analytics.trending.schemas import TrendKind, TrendRead
from folio.analytics.trending.windows import MAX_WINDOW_DAYS, windows
from folio.auth.principal import Principal

# Cases an item needs in the period to count as rising: one case more than nothing is no trend.
MIN_CASES = 5


async def rising(
    session: AsyncSession, *, principal: Principal, period: Period, limit: int
) -> tuple[list[RisingRead], list[RisingRead]]:
    """The categories and the terms rising most in the period against the one before (none for a period longer
    than trending's longest window). Their example cases are left out: the digest's prompt holds figures only."""
    if period.days > MAX_WINDOW_DAYS:
        return [], []
    asked = windows(days=None, count=1, start=period.start, to=period.end, end=None, tz=period.tz)
    found = await trending.trending(
        session,
        principal=principal,
        windows=asked,
        kind=TrendKind.BOTH,
        min_count=MIN_CASES,
        limit=limit,
        unit_id=None,
    )
    categories = [_rising(item.category, item) for item in found.categories or []]
    return categories, [_rising(item.term, item) for item in found.terms or []]


def _rising(key: str, item: TrendRead) -> RisingRead:
    before = round(item.count_before)
    return RisingRead(
        key=key,
        now=item.count_now,
        before=before,
        change_percent=change_percent(item.count_now, before),
        score=item.score,
    )


def change_percent(now: float, before: float) -> float | None:
    return None if before == 0 else round(100 * (now - before) / before, 1)
