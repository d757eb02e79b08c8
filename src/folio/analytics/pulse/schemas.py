from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from folio.analytics.schemas import PeriodRead
from folio.schemas import RequestModel


class PulseQuery(RequestModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: datetime | None = Field(
        None,
        alias="from",
        description="Start (inclusive), ISO 8601; without an offset it is read in `tz`. Default: 7 days before `to`.",
    )
    to: datetime | None = Field(
        None,
        description="End (exclusive), ISO 8601; without an offset it is read in `tz`. Default: the end of the "
        "current minute.",
    )
    tz: str = Field(
        "UTC", max_length=64, description="IANA time zone the period is read in.", examples=["Europe/Berlin"]
    )


class Change(BaseModel):
    now: int = Field(description="In the period.")
    before: int = Field(description="In the period of the same length just before it.")
    change_percent: float | None = Field(
        description="From `before` to `now`, in percent (one decimal); null when `before` is 0."
    )


class SentimentShare(BaseModel):
    sentiment: str = Field(examples=["negative"])
    now: int = Field(description="Cases opened in the period with this sentiment.")
    before: int = Field(description="The same, in the period before.")
    share_now: float | None = Field(
        description="Percent of the period's cases that have a sentiment; null when none has one."
    )
    share_before: float | None
    shift_points: float | None = Field(description="`share_now - share_before`, in percentage points.")


class SentimentRead(BaseModel):
    labelled_now: int = Field(description="Cases opened in the period that have a sentiment (the shares' base).")
    labelled_before: int
    mix: list[SentimentShare] = Field(description="Every sentiment of either period, the most frequent now first.")


class RisingRead(Change):
    key: str = Field(description="The category, or the term (a stemmed word of the cases' text).")
    score: float = Field(description="Dunning's G² of its share now against before, as trending computes it.")


class CasesRead(BaseModel):
    resolved: Change = Field(description="Cases resolved.")
    resolved_late: Change = Field(description="Cases resolved after their SLA due time: breaches.")
    open_now: int = Field(description="The backlog now: cases neither resolved nor closed, whenever opened.")
    overdue_now: int = Field(description="Of those, past their SLA due time.")
    median_first_response_seconds: float | None = Field(
        description="From opening to the first response, over the cases opened in the period that have one."
    )
    median_resolve_seconds: float | None = Field(description="From opening to resolution, over the cases resolved.")
    median_resolve_seconds_before: float | None = Field(description="The same, in the period before.")


class DigestRead(BaseModel):
    text: str = Field(description="A short narrative of the figures (at most about 120 words).")
    generated_by: str = Field(
        description="The organization's model that wrote it, or `offline`: the templated digest.",
        examples=["gpt-4o-mini", "offline"],
    )
    fallback_reason: str | None = Field(
        description="Why the templated digest stands in for the organization's model: the error code of its "
        "failure (`LLM_TIMEOUT`, `LLM_UNAVAILABLE`, `LLM_BUSY`, `BUDGET_EXCEEDED`…). Null when nothing failed.",
        examples=[None, "LLM_TIMEOUT"],
    )


class PulseFigures(BaseModel):
    period: PeriodRead
    previous: PeriodRead = Field(description="The period of the same length just before, compared with.")
    volume: Change = Field(description="Cases opened.")
    sentiment: SentimentRead
    rising_categories: list[RisingRead] = Field(
        description="The categories rising most, at most 5, by `GET /api/v1/analytics/trending`'s statistic over the "
        "period's whole UTC days (none for a period over 90 days)."
    )
    rising_terms: list[RisingRead] = Field(description="The terms of the cases' text rising most, at most 5, likewise.")
    cases: CasesRead


class PulseRead(PulseFigures):
    digest: DigestRead

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": {"from": "2026-11-30T00:00:00+00:00", "to": "2026-12-07T00:00:00+00:00", "tz": "UTC"},
                    "previous": {
                        "from": "2026-11-23T00:00:00+00:00",
                        "to": "2026-11-30T00:00:00+00:00",
                        "tz": "UTC",
                    },
                    "volume": {"now": 412, "before": 335, "change_percent": 23.0},
                    "sentiment": {
                        "labelled_now": 400,
                        "labelled_before": 330,
                        "mix": [
                            {
                                "sentiment": "negative",
                                "now": 124,
                                "before": 83,
                                "share_now": 31.0,
                                "share_before": 25.2,
                                "shift_points": 5.8,
                            }
                        ],
                    },
                    "rising_categories": [
                        {"key": "billing", "now": 96, "before": 40, "change_percent": 140.0, "score": 31.2}
                    ],
                    "rising_terms": [
                        {"key": "refund", "now": 51, "before": 12, "change_percent": 325.0, "score": 28.7}
                    ],
                    "cases": {
                        "resolved": {"now": 380, "before": 340, "change_percent": 11.8},
                        "resolved_late": {"now": 5, "before": 9, "change_percent": -44.4},
                        "open_now": 97,
                        "overdue_now": 12,
                        "median_first_response_seconds": 5400.0,
                        "median_resolve_seconds": 104000.0,
                        "median_resolve_seconds_before": 121000.0,
                    },
                    "digest": {
                        "text": "Volume rose 23% to 412 cases (335 the 7 days before). Negative sentiment 31.0% "
                        "(+5.8 pts). Rising: billing (+140%)…",
                        "generated_by": "offline",
                        "fallback_reason": None,
                    },
                }
            ]
        }
    )
