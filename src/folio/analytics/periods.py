"""Periods of analytics answers: bounds in the caller's time zone, and the buckets an interval cuts them into."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from folio.analytics.errors import PeriodInvalid, TimezoneInvalid

MAX_DAYS = 731
MAX_BUCKETS = 2000


class Interval(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; checked against the known names first, so no path is ever read from it."""
    if name not in _zone_names():
        raise TimezoneInvalid(details={"tz": name[:64]})
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class Period:
    """`[start, end)`, aware; `tz` is the zone buckets and dates are read in."""

    start: datetime
    end: datetime
    tz: ZoneInfo

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    def previous(self, count: int = 1) -> Period:
        """The `count` periods of the same length just before this one, as one period."""
        return Period(self.start - (self.end - self.start) * count, self.start, self.tz)

    def buckets(self, interval: Interval) -> list[datetime]:
        """The start of every bucket that meets the period, in order: local midnights (Mondays for weeks) or whole
        local hours, as aware instants; a day across a DST change is 23 or 25 hours long."""
        if interval is Interval.HOUR:
            first = self.start.astimezone(self.tz).replace(minute=0, second=0, microsecond=0)
            starts, moment = [], first.astimezone(UTC)
            while moment < self.end:
                starts.append(moment)
                moment += timedelta(hours=1)
            return [start.astimezone(self.tz) for start in starts]
        local = self.start.astimezone(self.tz).date()
        if interval is Interval.WEEK:
            local -= timedelta(days=local.weekday())
        step = timedelta(days=7 if interval is Interval.WEEK else 1)
        starts = []
        # Through UTC and back: where a clock change skips midnight (Chile, Lebanon…) the day starts at 01:00.
        while (start := datetime(local.year, local.month, local.day, tzinfo=self.tz).astimezone(UTC)) < self.end:
            starts.append(start.astimezone(self.tz))
            local += step
        return starts


def period(
    start: datetime | None,
    end: datetime | None,
    tz: ZoneInfo,
    *,
    default_days: int = 30,
    max_days: int = MAX_DAYS,
    now: datetime | None = None,
) -> Period:
    """The period asked: times without a zone are read in `tz`; `end` defaults to the end of the current minute and
    `start` to `default_days` before `end`."""
    # Now, rounded up to the minute: questions asked within a minute are the same question (and cached once).
    end = _aware(end, tz) if end is not None else _next_minute(now or datetime.now(UTC))
    try:
        start = _aware(start, tz) if start is not None else end - timedelta(days=default_days)
        # The instants the database is given: beyond Python's range for year 1 east of UTC or 9999 west of it.
        first, last = start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError:
        raise PeriodInvalid(details={"max_days": max_days}) from None
    if not first < last or last - first > timedelta(days=max_days):
        raise PeriodInvalid(details={"max_days": max_days})
    return Period(start, end, tz)


def _next_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def _aware(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def check_buckets(found: Period, interval: Interval) -> None:
    approximate = found.days * (24 if interval is Interval.HOUR else 1) / (7 if interval is Interval.WEEK else 1)
    if approximate > MAX_BUCKETS:
        raise PeriodInvalid(details={"max_days": MAX_DAYS, "max_buckets": MAX_BUCKETS})
