from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from folio.analytics.forecast.ets import LEVELS, MIN_HISTORY_DAYS
from folio.analytics.schemas import PeriodRead
from folio.analytics.series import GroupBy
from folio.cases.schemas import CaseQuery

MAX_GROUPS = 10
MAX_HORIZON = 60
MAX_HISTORY = 365


class ForecastMetric(StrEnum):
    CASES = "cases"
    RESOLVED = "resolved"
    DOCUMENTS = "documents"
    SEARCHES = "searches"


class ForecastQuery(CaseQuery):
    """What to forecast, from how much history, and for case metrics the filters of `GET /api/v1/cases`."""

    model_config = ConfigDict(extra="forbid")

    metric: ForecastMetric = Field(
        ForecastMetric.CASES, description="What is counted per day: cases opened, cases resolved, documents, searches."
    )
    group_by: GroupBy | None = Field(
        None,
        description="One forecast per value of this field. Cases: status, priority, unit, channel, assignee, "
        "sentiment, severity, category; documents: kind, status; searches: mode, source.",
    )
    groups: int = Field(
        MAX_GROUPS,
        ge=1,
        le=MAX_GROUPS,
        description="Forecasts for the largest groups of the history; the rest are summed as `__other__`.",
    )
    horizon: int = Field(14, ge=1, le=MAX_HORIZON, description="Days to forecast, starting with `to`.")
    history: int = Field(
        91,
        ge=MIN_HISTORY_DAYS,
        le=MAX_HISTORY,
        description="Days of history before `to` the model learns from and is checked on.",
    )
    to: date | None = Field(
        None,
        ge=date(2000, 1, 1),
        le=date(2199, 12, 31),
        description="The first day forecast, in `tz`; the history ends the day before. Default: today, whose "
        "counts so far are left out of the history (the day is not over).",
    )
    tz: str = Field(
        "UTC", max_length=64, description="IANA time zone the days are read in.", examples=["Europe/Berlin"]
    )


class IntervalRead(BaseModel):
    level: int = Field(
        description="Percent: if the model holds, each day's count falls inside this interval with this probability.",
        examples=[80],
    )
    lower: list[float] = Field(description="One per day; never below zero.")
    upper: list[float] = Field(description="One per day.")


class BacktestRead(BaseModel):
    weeks: int = Field(
        description="The last weeks of the history held out and forecast from the weeks before: the horizon in "
        "whole weeks, at most 4 (fewer when the history is short)."
    )
    mae: float = Field(description="The method's mean absolute error per day over those weeks.")
    mase: float | None = Field(
        description="`mae` divided by the mean absolute error of the one-week-ago forecast over the weeks the "
        "model learnt from (below 1: better than that). Null when that error is 0 (an exactly weekly history)."
    )
    seasonal_naive_mae: float = Field(
        description="The error of the baseline that repeats the last week before the held-out weeks."
    )
    seasonal_naive_mase: float | None = Field(description="Its `mae` on the same scale as `mase`.")


class SeriesForecastRead(BaseModel):
    key: str | None = Field(description="The group's value (null: with the field empty; `__other__`: the rest).")
    label: str | None = Field(None, description="A name for ids: the unit's, the assignee's.")
    history_days: int = Field(description="Days from the group's first count to the end of the history.")
    insufficient_history: bool = Field(
        description=f"Fewer than {MIN_HISTORY_DAYS} days of history: nothing is forecast for this group."
    )
    parameters: dict[str, float] | None = Field(
        description="The smoothing parameters estimated for this group (alpha, beta, gamma, phi)."
    )
    forecast: list[float] | None = Field(description="The expected count of each day of `dates`.")
    intervals: list[IntervalRead] = Field(description=f"Prediction intervals at {' and '.join(map(str, LEVELS))} %.")
    backtest: BacktestRead | None


class ForecastRead(BaseModel):
    metric: ForecastMetric
    group_by: GroupBy | None
    method: str = Field(
        description="The forecasting method: exponential smoothing with additive errors, an additive damped trend "
        "and an additive weekly season (m=7), by statsmodels.",
        examples=["ETS(A,Ad,A) m=7"],
    )
    history: PeriodRead = Field(description="The days learnt from: whole days in `tz`, up to the day before `to`.")
    dates: list[date] = Field(description="The days forecast.")
    series: list[SeriesForecastRead]

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "metric": "cases",
                    "group_by": "category",
                    "method": "ETS(A,Ad,A) m=7",
                    "history": {
                        "from": "2026-01-05T00:00:00+01:00",
                        "to": "2026-05-05T00:00:00+02:00",
                        "tz": "Europe/Berlin",
                    },
                    "dates": ["2026-05-05", "2026-05-06"],
                    "series": [
                        {
                            "key": "billing",
                            "label": None,
                            "history_days": 120,
                            "insufficient_history": False,
                            "parameters": {
                                "smoothing_level": 0.02,
                                "smoothing_trend": 0.0,
                                "smoothing_seasonal": 0.12,
                                "damping_trend": 0.98,
                            },
                            "forecast": [41.3, 43.9],
                            "intervals": [
                                {"level": 80, "lower": [35.2, 37.7], "upper": [47.4, 50.1]},
                                {"level": 95, "lower": [32.0, 34.5], "upper": [50.6, 53.3]},
                            ],
                            "backtest": {
                                "weeks": 2,
                                "mae": 3.9,
                                "mase": 0.78,
                                "seasonal_naive_mae": 4.8,
                                "seasonal_naive_mase": 0.96,
                            },
                        },
                        {
                            "key": "shipping",
                            "label": None,
                            "history_days": 3,
                            "insufficient_history": True,
                            "parameters": None,
                            "forecast": None,
                            "intervals": [],
                            "backtest": None,
                        },
                    ],
                }
            ]
        }
    )
