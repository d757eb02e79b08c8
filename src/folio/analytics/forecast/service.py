"""Forecasts of daily counts: the history read in one short transaction, the models fitted with no connection held."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import anyio.to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics import series
from folio.analytics.forecast import ets
from folio.analytics.forecast.errors import ForecastHistoryTooShort
from folio.analytics.forecast.schemas import (
    BacktestRead,
    ForecastMetric,
    ForecastRead,
    IntervalRead,
    SeriesForecastRead,
)
from folio.analytics.periods import Interval, Period
from folio.analytics.schemas import PeriodRead
from folio.auth.principal import Principal
from folio.cases import service as cases
from folio.cases.schemas import CaseQuery
from folio.db import release

METHOD = f"{ets.METHOD} m={ets.SEASON}"


async def forecast(
    session: AsyncSession,
    *,
    principal: Principal,
    metric: ForecastMetric,
    group_by: series.GroupBy | None,
    query: CaseQuery,
    groups: int,
    horizon: int,
    history: int,
    first_day: date,
    tz: ZoneInfo,
) -> ForecastRead:
    """The next `horizon` days from `first_day` of `metric` per group, learnt from the `history` days before."""
    counted = series.Metric(metric.value)
    filtered = query.model_dump(exclude_unset=True) != {}
    series.check_grouping(counted, group_by, filtered)
    filters = await cases.filters_of(session, principal=principal, query=query) if filtered else None
    window = Period(_midnight(first_day - timedelta(days=history), tz), _midnight(first_day, tz), tz)
    found = await series.counts(
        session,
        principal=principal,
        metric=counted,
        group_by=group_by,
        filters=filters,
        period=window,
        interval=Interval.DAY,
        groups=groups,
    )
    await release(session)
    outcomes = await anyio.to_thread.run_sync(ets.forecast_all, [group.values for group in found.groups], horizon)
    if not any(isinstance(outcome, ets.Forecast) for outcome in outcomes):
        longest = max((outcome.history_days for outcome in outcomes), default=0)
        raise ForecastHistoryTooShort(details={"min_days": ets.MIN_HISTORY_DAYS, "history_days": longest})
    return ForecastRead(
        metric=metric,
        group_by=group_by,
        method=METHOD,
        history=PeriodRead(start=window.start, to=window.end, tz=tz.key),
        dates=[first_day + timedelta(days=day) for day in range(horizon)],
        series=[_read(group, outcome) for group, outcome in zip(found.groups, outcomes, strict=True)],
    )


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    # Through UTC and back: a day whose midnight a DST change skips (Chile's) begins at its first real hour.
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC).astimezone(tz)


def _read(group: series.Group, outcome: ets.Forecast | ets.TooShort) -> SeriesForecastRead:
    if isinstance(outcome, ets.TooShort):
        return SeriesForecastRead(
            key=group.key,
            label=group.label,
            history_days=outcome.history_days,
            insufficient_history=True,
            parameters=None,
            forecast=None,
            intervals=[],
            backtest=None,
        )
    backtest = outcome.backtest
    return SeriesForecastRead(
        key=group.key,
        label=group.label,
        history_days=outcome.history_days,
        insufficient_history=False,
        parameters={name: round(value, 4) for name, value in outcome.parameters.items()},
        forecast=_rounded(outcome.point),
        intervals=[
            IntervalRead(level=band.level, lower=_rounded(band.lower), upper=_rounded(band.upper))
            for band in outcome.bands
        ],
        backtest=BacktestRead(
            weeks=backtest.weeks,
            mae=round(backtest.mae, 3),
            mase=None if backtest.mase is None else round(backtest.mase, 3),
            seasonal_naive_mae=round(backtest.naive_mae, 3),
            seasonal_naive_mase=None if backtest.naive_mase is None else round(backtest.naive_mase, 3),
        ),
    )


def _rounded(values: ets.Floats) -> list[float]:
    # Rounding is monotone, so bounds and forecast keep their order.
    return [round(float(value), 2) for value in values]
