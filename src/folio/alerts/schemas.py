from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from folio.alerts.conditions import MAX_COMPARISONS, MAX_DEPTH, Condition, check_bounds, describe_fields
from folio.ingestion.extracted import FileKind
from folio.models import AlertRuleKind, AlertSeverity, AlertStatus
from folio.pagination import Page
from folio.schemas import ReadModel, RequestModel, nests_deeper, partial_update, too_deep
from folio.search.schemas import MetadataValue, Tag

MAX_QUERY_LENGTH = 500
MAX_UNITS = 50
MAX_NOTIFY = 20
MAX_TAGS = 20
MAX_METADATA_KEYS = 10
MAX_THROTTLE_MINUTES = 7 * 24 * 60
# A spike rule looks back (baseline windows + 1) × window at most this far: it bounds what one evaluation scans.
MAX_SPIKE_SPAN_MINUTES = 90 * 24 * 60

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _distinct(ids: list[UUID]) -> list[UUID]:
    return list(dict.fromkeys(ids))


class SearchRuleMode(StrEnum):
    HYBRID = "hybrid"
    KEYWORD = "keyword"
    VECTOR = "vector"


class RuleFilters(RequestModel):
    """Which documents a search rule looks at; every filter set must hold."""

    model_config = ConfigDict(extra="forbid")

    tags_any: list[Tag] | None = Field(None, min_length=1, max_length=MAX_TAGS, description="At least one tag.")
    tags_all: list[Tag] | None = Field(None, min_length=1, max_length=MAX_TAGS, description="Every one of these tags.")
    file_types: list[FileKind] | None = Field(
        None, min_length=1, max_length=10, description="Only these kinds (`record`: cases only)."
    )
    metadata: dict[Annotated[str, Field(min_length=1, max_length=100)], MetadataValue] | None = Field(
        None, min_length=1, max_length=MAX_METADATA_KEYS, description="Metadata keys with exactly these values."
    )


class SearchDefinition(RequestModel):
    """A saved search: fires when a new or changed document or case that it matches becomes searchable."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "search", "query": "chargeback dispute", "min_score": 0.55}]},
    )

    kind: Literal["search"]
    query: str = Field(
        min_length=1,
        max_length=MAX_QUERY_LENGTH,
        description='Web-search syntax: every word, `"phrases"` in order, none of the `-words` (the keyword side).',
    )
    mode: SearchRuleMode = Field(
        SearchRuleMode.HYBRID,
        description="`keyword`: a chunk holds the query's words; `vector`: a chunk's cosine similarity to the "
        "query is at least `min_score`; `hybrid`: either.",
    )
    min_score: float = Field(0.5, ge=0, le=1, description="Least cosine similarity for the vector side.")
    filters: RuleFilters = Field(default_factory=RuleFilters)

    @model_validator(mode="after")
    def _query_has_words(self) -> SearchDefinition:
        self.query = " ".join(self.query.split())
        if not self.query:
            raise ValueError("the query is empty")
        return self


def _shallow(value: Any) -> Any:
    # Each level of a condition is one or two levels of JSON; deeper input is refused before it is parsed.
    if nests_deeper(value, 2 * MAX_DEPTH):
        raise too_deep(2 * MAX_DEPTH)
    return value


def _bounded(condition: Condition) -> Condition:
    check_bounds(condition)
    return condition


class ConditionDefinition(RequestModel):
    """A condition on a case's fields and labels: fires when a new or changed case meets it, and (when it names
    `sla_breached`) when a case's SLA runs out."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "condition",
                    "condition": {
                        "all": [
                            {"field": "severity", "op": "gte", "value": "high"},
                            {"field": "category", "op": "eq", "value": "billing"},
                        ]
                    },
                },
                {"kind": "condition", "condition": {"field": "sla_breached", "op": "eq", "value": True}},
            ]
        },
    )

    kind: Literal["condition"]
    condition: Annotated[Condition, BeforeValidator(_shallow), AfterValidator(_bounded)] = Field(
        description=f"A comparison `{{field, op, value}}`, or `{{all: [...]}}`, `{{any: [...]}}`, `{{not: ...}}` "
        f"of conditions; at most {MAX_DEPTH} levels and {MAX_COMPARISONS} comparisons. Fields: {describe_fields()}"
    )


class SpikeGroup(StrEnum):
    UNIT = "unit"
    CATEGORY = "category"
    TERM = "term"


class SpikeDefinition(RequestModel):
    """A spike: the count of a unit's cases (of a category, or mentioning a term) in the last window is more than
    the windows before it explain (a one-sided Poisson test, see the README)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "spike", "group_by": "category", "window_minutes": 60, "baseline_windows": 24},
                {"kind": "spike", "group_by": "term", "term": "outage", "alpha": 0.0001, "min_support": 10},
            ]
        },
    )

    kind: Literal["spike"]
    group_by: SpikeGroup = Field(
        description="`unit`: all of a unit's cases; `category`: each category's within a unit; `term`: a unit's "
        "cases mentioning `term`."
    )
    term: str | None = Field(None, min_length=1, max_length=200, description="Words to count (`group_by: term`).")
    window_minutes: int = Field(60, ge=5, le=MAX_THROTTLE_MINUTES, description="The window counted, up to now.")
    baseline_windows: int = Field(24, ge=3, le=168, description="Windows before it that make the baseline.")
    alpha: float = Field(0.001, gt=0, le=0.1, description="Fires when P(X ≥ count | baseline) is below this.")
    min_support: int = Field(5, ge=1, le=100_000, description="…and the window holds at least this many cases.")

    @model_validator(mode="after")
    def _consistent(self) -> SpikeDefinition:
        if (self.group_by is SpikeGroup.TERM) != (self.term is not None and bool(self.term.strip())):
            raise ValueError("`term` is given exactly when `group_by` is `term`")
        if (self.baseline_windows + 1) * self.window_minutes > MAX_SPIKE_SPAN_MINUTES:
            raise ValueError(f"(baseline_windows + 1) × window_minutes is at most {MAX_SPIKE_SPAN_MINUTES} (90 days)")
        return self


Definition = Annotated[SearchDefinition | ConditionDefinition | SpikeDefinition, Field(discriminator="kind")]


class AlertRuleCreate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Angry billing customers",
                    "severity": "high",
                    "throttle_minutes": 60,
                    "definition": {
                        "kind": "condition",
                        "condition": {
                            "all": [
                                {"field": "sentiment", "op": "eq", "value": "negative"},
                                {"field": "category", "op": "eq", "value": "billing"},
                            ]
                        },
                    },
                }
            ]
        },
    )

    name: Name
    description: str = Field("", max_length=500)
    severity: AlertSeverity = AlertSeverity.MEDIUM
    throttle_minutes: int = Field(
        60,
        ge=1,
        le=MAX_THROTTLE_MINUTES,
        description="One alert per rule, unit and window of this length (windows start at multiples of it since "
        "1970-01-01 UTC); later matches in the window join it.",
    )
    enabled: bool = True
    unit_ids: Annotated[list[UUID], AfterValidator(_distinct)] | None = Field(
        None,
        min_length=1,
        max_length=MAX_UNITS,
        description="The business units whose cases it watches; null: every case and document (members limited "
        "to units must name theirs).",
    )
    notify: Annotated[list[UUID], AfterValidator(_distinct)] = Field(
        default_factory=list,
        max_length=MAX_NOTIFY,
        description="Members its alerts notify; empty: the supervisors and above who see the alert's unit.",
    )
    definition: Definition


class AlertRuleUpdate(RequestModel):
    """Only the fields sent change; `definition` is replaced whole."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=partial_update(nullable=("unit_ids",)))

    name: Name | None = None
    description: str | None = Field(None, max_length=500)
    severity: AlertSeverity | None = None
    throttle_minutes: int | None = Field(None, ge=1, le=MAX_THROTTLE_MINUTES)
    enabled: bool | None = None
    unit_ids: Annotated[list[UUID], AfterValidator(_distinct)] | None = Field(
        None, min_length=1, max_length=MAX_UNITS, description="null: every unit."
    )
    notify: Annotated[list[UUID], AfterValidator(_distinct)] | None = Field(None, max_length=MAX_NOTIFY)
    definition: Definition | None = None

    @model_validator(mode="after")
    def _not_null(self) -> AlertRuleUpdate:
        nulls = [name for name in self.model_fields_set - {"unit_ids"} if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} cannot be null")
        return self


class AlertRuleRead(ReadModel):
    id: UUID
    name: str
    description: str
    kind: AlertRuleKind
    severity: AlertSeverity
    throttle_minutes: int
    enabled: bool
    unit_ids: list[UUID] | None
    notify: list[UUID]
    definition: dict[str, Any] = Field(description="As created: `kind` and the kind's settings.")
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime


class AlertRead(ReadModel):
    id: UUID
    rule_id: UUID
    kind: AlertRuleKind
    title: str
    severity: AlertSeverity
    status: AlertStatus
    unit_id: UUID | None = Field(description="The business unit of its cases (null: cases of no unit, documents).")
    subject_key: str = Field(description="The category a spike is about; empty otherwise.")
    count: int = Field(description="Cases and documents that matched in its window, each counted once.")
    details: dict[str, Any] = Field(
        description="A spike's statistic when it last fired: `count`, `baseline_mean`, `p_value`, `window_minutes`."
    )
    window_start: datetime
    window_end: datetime
    last_matched_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None
    resolved_at: datetime | None
    resolved_by: UUID | None
    created_at: datetime


class AlertMatchRead(BaseModel):
    document_id: UUID = Field(description="The case's (record's) or document's id.")
    title: str
    is_case: bool
    case_number: str | None = Field(description="C-000123 for a case.")
    score: float | None = Field(description="A search rule's: the closest chunk's cosine similarity to the query.")
    matched_at: datetime


class AlertDetail(AlertRead):
    matches: Page[AlertMatchRead] = Field(description="Its cases and documents, a page at a time (`limit`, `cursor`).")
