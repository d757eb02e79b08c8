from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from folio.analytics.trending.windows import MAX_BASELINE, MAX_WINDOW_DAYS
from folio.schemas import RequestModel

MAX_ITEMS = 50


class TrendKind(StrEnum):
    TERMS = "terms"
    CATEGORIES = "categories"
    BOTH = "both"


class TrendingQuery(RequestModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    window: str | None = Field(
        None,
        pattern=r"^[1-9][0-9]{0,2}d$",
        description=f"The window's length in days, `7d` by default (at most {MAX_WINDOW_DAYS}d), ending at `end`.",
        examples=["7d"],
    )
    baseline: int = Field(
        4, ge=1, le=MAX_BASELINE, description="How many windows of the same length just before it are compared with."
    )
    end: datetime | None = Field(
        None, description="End of the window, ISO 8601 (without an offset read in `tz`). Default: now."
    )
    start: datetime | None = Field(
        None, alias="from", description="Instead of `window` and `end`: the window's start, ISO 8601."
    )
    to: datetime | None = Field(None, description="With `from`: the window's end. Default: now.")
    tz: str = Field(
        "UTC", max_length=64, description="IANA time zone that times without an offset are read in.", examples=["UTC"]
    )
    kind: TrendKind = Field(TrendKind.BOTH, description="Rising terms, categories, or both.")
    min_count: int = Field(
        5, ge=1, le=100_000, description="Minimum support: an item must be in at least this many cases in the window."
    )
    limit: int = Field(20, ge=1, le=MAX_ITEMS, description="Rising items listed of each kind, highest score first.")
    unit_id: UUID | None = Field(None, description="Only cases of this business unit.")

    @property
    def window_days(self) -> int | None:
        return None if self.window is None else int(self.window.removesuffix("d"))


class CaseRef(BaseModel):
    id: UUID
    number: str = Field(examples=["C-000123"])
    title: str


class TrendRead(BaseModel):
    score: float = Field(
        description="Dunning's log-likelihood G² of the share of cases now against before (higher: more surprising; "
        "15.13 is p < 0.0001)."
    )
    count_now: int = Field(description="Cases in the window.")
    count_before: float = Field(description="Cases per baseline window, on average.")
    ratio: float | None = Field(
        description="Its share of the window's cases over its share of the baseline's; null when it had none before."
    )
    examples: list[CaseRef] = Field(description="Up to 3 cases of the window holding it, newest first.")


class TermTrend(TrendRead):
    term: str = Field(
        description="A lexeme of the full-text index: stemmed, lower-case, as search matches it.", examples=["refund"]
    )


class CategoryTrend(TrendRead):
    category: str = Field(description="The category of the cases' default enrichment.", examples=["billing"])


class WindowRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    start: datetime = Field(alias="from", description="A UTC midnight: windows are whole UTC days.")
    to: datetime
    days: int
    cases: int = Field(description="Cases opened in the window that you see (of the unit asked).")


class BaselineRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    start: datetime = Field(alias="from")
    to: datetime
    windows: int
    cases: int = Field(description="Cases opened in all the baseline windows.")


class TrendingRead(BaseModel):
    window: WindowRead
    baseline: BaselineRead
    unit_id: UUID | None
    min_count: int
    terms: list[TermTrend] | None = Field(description="Rising terms, highest score first; null unless asked.")
    categories: list[CategoryTrend] | None = Field(
        description="Rising categories, highest score first; null unless asked."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "window": {"from": "2026-11-29T00:00:00Z", "to": "2026-12-06T00:00:00Z", "days": 7, "cases": 1840},
                    "baseline": {
                        "from": "2026-11-01T00:00:00Z",
                        "to": "2026-11-29T00:00:00Z",
                        "windows": 4,
                        "cases": 7012,
                    },
                    "unit_id": None,
                    "min_count": 5,
                    "terms": [
                        {
                            "term": "outag",
                            "score": 212.4,
                            "count_now": 96,
                            "count_before": 6.25,
                            "ratio": 14.6,
                            "examples": [
                                {
                                    "id": "01936f0e-0000-7000-8000-000000000123",
                                    "number": "C-000123",
                                    "title": "Outage right now, nothing works",
                                }
                            ],
                        }
                    ],
                    "categories": [
                        {
                            "category": "network",
                            "score": 48.0,
                            "count_now": 210,
                            "count_before": 120.5,
                            "ratio": 1.66,
                            "examples": [],
                        }
                    ],
                }
            ]
        }
    )
