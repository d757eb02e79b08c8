"""The window trending looks at and the baseline windows before it, in whole UTC days (the rollup's days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from folio.analytics.errors import PeriodInvalid
from folio.analytics.periods import MAX_DAYS, period

DEFAULT_DAYS = 7
MAX_WINDOW_DAYS = 90
MAX_BASELINE = 12
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Windows:
    """The window `[start, end)` and `count` windows of the same length before it, `[baseline_start, start)`; every
    bound a UTC midnight."""

    baseline_start: datetime
    start: datetime
    end: datetime
    days: int
    count: int


def windows(
    *,
    days: int | None,
    count: int,
    start: datetime | None,
    to: datetime | None,
    end: datetime | None,
    tz: ZoneInfo,
    now: datetime | None = None,
) -> Windows:
    """The window asked as `days` ending at `end` (default: now), or as `from`/`to`: its length is rounded to whole
    days and its end up to the next UTC midnight, so the window ending now holds today so far."""
    try:
        return _windows(days=days, count=count, start=start, to=to, end=end, tz=tz, now=now)
    except OverflowError:
        # A bound near the first or last representable day: no baseline fits before it.
        raise PeriodInvalid(details={"max_days": MAX_DAYS}) from None


def _windows(
    *,
    days: int | None,
    count: int,
    start: datetime | None,
    to: datetime | None,
    end: datetime | None,
    tz: ZoneInfo,
    now: datetime | None,
) -> Windows:
    if start is not None or to is not None:
        if days is not None or end is not None:
            raise PeriodInvalid("Give the window as `window` and `end`, or as `from` and `to`, not both.")
        asked = period(start, to, tz, default_days=DEFAULT_DAYS, max_days=MAX_WINDOW_DAYS, now=now)
        length = max(round(asked.days), 1)
    else:
        length = days or DEFAULT_DAYS
        if length > MAX_WINDOW_DAYS:
            raise PeriodInvalid(details={"max_days": MAX_WINDOW_DAYS})
        asked = period(None, end, tz, default_days=length, max_days=MAX_WINDOW_DAYS, now=now)
    if length * (count + 1) > MAX_DAYS:
        raise PeriodInvalid(
            "The window and its baseline may not span more than `details.max_days` days.",
            details={"max_days": MAX_DAYS},
        )
    last = asked.end.astimezone(UTC)
    midnight = datetime.combine(last.date(), time(), UTC)
    window_end = midnight if midnight == last else midnight + DAY
    window_start = window_end - length * DAY
    return Windows(window_start - count * length * DAY, window_start, window_end, length, count)
