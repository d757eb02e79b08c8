from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from folio.analytics.schemas import PeriodQuery, PeriodRead
from folio.search.schemas import SearchMode

MAX_ROWS = 100
# A 95th percentile of fewer searches is mostly one unlucky search: such queries are not ranked as slow.
SLOW_MIN_SEARCHES = 5


class SearchAnalyticsQuery(PeriodQuery):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    limit: int = Field(20, ge=1, le=MAX_ROWS, description="Rows in each list of queries.")
    mode: SearchMode | None = Field(None, description="Only searches of this mode.")
    source: str | None = Field(
        None,
        pattern=r"^[a-z_]{1,16}$",
        description="Only searches made by this: `search` (`POST /search`), `answers`, `chat` or `openai` (the "
        "retrieval of an answer).",
        examples=["search"],
    )


class QueryRead(BaseModel):
    query: str = Field(
        description="The normalised query: NFKC, casefolded, white space collapsed, punctuation around words "
        'dropped (a leading `-` and `"` stay: search syntax reads them).',
        examples=["refund policy"],
    )
    example: str = Field(description="The form of it asked most often, as typed.", examples=["Refund policy?"])
    searches: int
    zero_results: int = Field(description="Searches of it that found nothing.")
    zero_result_share: float = Field(description="`zero_results / searches`.", examples=[0.25])
    mean_hits: float = Field(description="Hits returned per search (on its page: at most its `top_k`).")
    p95_latency_ms: float = Field(
        description="95th percentile of its searches' latency (interpolated; a query asked once: its latency)."
    )


class LatencyRead(BaseModel):
    searches: int
    zero_results: int
    zero_result_share: float
    mean_hits: float
    p50_latency_ms: float | None = Field(description="Percentiles of latency, interpolated; null without searches.")
    p95_latency_ms: float | None
    p99_latency_ms: float | None


class ModeRead(LatencyRead):
    mode: str = Field(examples=["hybrid"])


class TotalsRead(LatencyRead):
    distinct_queries: int = Field(description="Different normalised queries.")


class SearchAnalyticsRead(BaseModel):
    period: PeriodRead
    mode: SearchMode | None = Field(description="The mode asked for, if any.")
    source: str | None = Field(description="The source asked for, if any.")
    totals: TotalsRead
    by_mode: list[ModeRead] = Field(description="Every mode searched in the period, most searched first.")
    top_queries: list[QueryRead] = Field(description="Most searched first.")
    zero_result_queries: list[QueryRead] = Field(
        description="Queries that found nothing at least once, those that did most often first."
    )
    slow_queries: list[QueryRead] = Field(
        description=f"Queries searched at least {SLOW_MIN_SEARCHES} times in the period (fewer make a 95th "
        "percentile of noise), highest 95th percentile latency first."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "period": {
                        "from": "2026-11-01T00:00:00+01:00",
                        "to": "2026-12-01T00:00:00+01:00",
                        "tz": "Europe/Berlin",
                    },
                    "mode": None,
                    "source": None,
                    "totals": {
                        "searches": 1200,
                        "distinct_queries": 431,
                        "zero_results": 96,
                        "zero_result_share": 0.08,
                        "mean_hits": 8.7,
                        "p50_latency_ms": 38.2,
                        "p95_latency_ms": 120.4,
                        "p99_latency_ms": 310.0,
                    },
                    "by_mode": [
                        {
                            "mode": "hybrid",
                            "searches": 1000,
                            "zero_results": 60,
                            "zero_result_share": 0.06,
                            "mean_hits": 9.1,
                            "p50_latency_ms": 41.0,
                            "p95_latency_ms": 125.0,
                            "p99_latency_ms": 320.5,
                        }
                    ],
                    "top_queries": [
                        {
                            "query": "refund policy",
                            "example": "Refund policy?",
                            "searches": 52,
                            "zero_results": 0,
                            "zero_result_share": 0.0,
                            "mean_hits": 10.0,
                            "p95_latency_ms": 88.1,
                        }
                    ],
                    "zero_result_queries": [
                        {
                            "query": "gdpr art 17",
                            "example": "GDPR Art. 17",
                            "searches": 9,
                            "zero_results": 9,
                            "zero_result_share": 1.0,
                            "mean_hits": 0.0,
                            "p95_latency_ms": 35.0,
                        }
                    ],
                    "slow_queries": [],
                }
            ]
        }
    )
