from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from folio.analytics.periods import Interval
from folio.analytics.series import GroupBy, Metric
from folio.cases.schemas import CaseQuery
from folio.schemas import RequestModel

_TZ = Field(
    "UTC", max_length=64, description="IANA time zone the period and buckets are read in.", examples=["Europe/Berlin"]
)
_FROM = Field(
    None,
    alias="from",
    description="Start (inclusive), ISO 8601; without an offset it is read in `tz`. Default: 30 days before `to`.",
)
_TO = Field(
    None,
    description="End (exclusive), ISO 8601; without an offset it is read in `tz`. Default: the end of the current "
    "minute.",
)


class PeriodQuery(RequestModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: datetime | None = _FROM
    to: datetime | None = _TO
    tz: str = _TZ


class TimeseriesQuery(CaseQuery):
    """The metric, its grouping and buckets, and for case metrics the filters of `GET /api/v1/cases`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    metric: Metric = Field(Metric.CASES, description="What is counted.")
    group_by: GroupBy | None = Field(
        None,
        description="One series per value of this field. Cases: status, priority, unit, channel, assignee, "
        "sentiment, severity, category; documents: kind, status; searches: mode, source; tokens and cost: kind, "
        "model.",
    )
    interval: Interval = Field(Interval.DAY, description="Bucket length, in the time zone `tz`.")
    groups: int = Field(
        10, ge=1, le=50, description="Series for the largest groups; the rest are summed as `__other__`."
    )
    start: datetime | None = _FROM
    to: datetime | None = _TO
    tz: str = _TZ


class PeriodRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    start: datetime = Field(alias="from")
    to: datetime
    tz: str


class SeriesRead(BaseModel):
    key: str | None = Field(description="The group's value (null: cases with the field empty; `__other__`: the rest).")
    label: str | None = Field(None, description="A name for ids: the unit's, the assignee's.")
    values: list[float] = Field(description="One per bucket.")
    total: float


class TimeseriesRead(BaseModel):
    metric: Metric
    group_by: GroupBy | None
    interval: Interval
    period: PeriodRead
    buckets: list[datetime] = Field(
        description="Start of each bucket, in `tz` (a day across a DST change is 23 or 25 h)."
    )
    series: list[SeriesRead]
    total: list[float] = Field(description="All groups together, per bucket.")

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "metric": "cases",
                    "group_by": "category",
                    "interval": "day",
                    "period": {
                        "from": "2026-03-28T00:00:00+01:00",
                        "to": "2026-03-30T00:00:00+02:00",
                        "tz": "Europe/Berlin",
                    },
                    "buckets": ["2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00"],
                    "series": [
                        {"key": "billing", "label": None, "values": [12, 9], "total": 21},
                        {"key": None, "label": None, "values": [1, 0], "total": 1},
                    ],
                    "total": [13, 9],
                }
            ]
        }
    )


class Count(BaseModel):
    key: str | None
    label: str | None = None
    count: int


class CaseOverview(BaseModel):
    opened: int = Field(description="Cases opened in the period (by `opened_at`: the row's own time, else its import).")
    resolved: int = Field(description="Cases resolved in the period.")
    open_now: int = Field(description="Cases neither resolved nor closed, now (whenever they were opened).")
    overdue_now: int = Field(description="Of those, past their SLA due time.")
    resolved_late: int = Field(description="Cases resolved in the period after their SLA due time: breaches.")
    median_first_response_seconds: float | None = Field(
        description="From opening to the first comment or status change, over cases opened in the period that have one."
    )
    first_responses: int
    median_resolve_seconds: float | None = Field(
        description="From opening to resolution, over cases resolved in the period."
    )
    by_status: list[Count]
    by_priority: list[Count]
    by_severity: list[Count]
    by_sentiment: list[Count]
    by_category: list[Count]
    by_unit: list[Count]
    by_channel: list[Count]


class DocumentOverview(BaseModel):
    total: int
    by_status: dict[str, int]
    by_kind: dict[str, int]
    chunks: int
    storage_bytes: int


class JobKindOverview(BaseModel):
    kind: str
    by_status: dict[str, int]
    p50_seconds: float | None = Field(description="Run time of the finished ones, median.")
    p95_seconds: float | None


class UsageOverview(BaseModel):
    scope: Literal["organization", "you"] = Field(description="Admins see the organization's, others their own calls.")
    month_start: datetime
    tokens: int
    cost: Decimal | None
    monthly_budget_tokens: int | None = Field(description="The organization's monthly token budget, if set.")
    budget_used_tokens: int = Field(description="The organization's language-model tokens this month.")


class OverviewRead(BaseModel):
    period: PeriodRead
    cases: CaseOverview = Field(description="Breakdowns are of the cases opened in the period.")
    documents: DocumentOverview = Field(description="Now, whatever the period.")
    jobs: list[JobKindOverview] = Field(
        description="Jobs created in the period, by kind (empty for a member limited to business units: jobs belong "
        "to the whole organization)."
    )
    usage: UsageOverview = Field(description="This calendar month (UTC), whatever the period.")
