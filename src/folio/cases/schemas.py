from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from folio.cases.workflow import DEFAULT_SLA_HOURS, MAX_SLA_HOURS
from folio.enrichment.schemas import EnrichmentRead
from folio.events.schemas import Change
from folio.models import CasePriority, CaseStatus, DocumentStatus
from folio.pagination import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from folio.schemas import RequestModel, json_limit_error, partial_update

# An enrichment field filter `name:value`: its length, and its value's size as JSON (a character takes at most 6
# bytes, so the length bounds it).
_FIELD_CHARACTERS = 600
_FIELD_BYTES = 4096
# What `_name_value` accepts: a name with a non-blank character before the first colon, and no NUL, raw or as the
# JSON escape.
_FIELD_PATTERN = r"^(?![^\x00]*\\u0000)[^:\x00]*[^:\s\x00][^:\x00]*:[^\x00]*$"
_EXAMPLE_ID = "0192f0c4-1d2e-7a3b-8c4d-5e6f7a8b9c0d"


def _listed(value: Any) -> Any:
    """One value where a list is expected (`"status": "open"` in a JSON filter) is a list of one."""
    return [value] if isinstance(value, str) else value


class CaseQuery(RequestModel):
    """Which cases: by their fields, their workflow, and the labels of their enrichment. Filters combine with AND;
    the values of a repeated filter (`status=open&status=waiting`) with OR."""

    model_config = ConfigDict(extra="forbid")

    batch_id: UUID | None = Field(None, description="Written (last) by this batch.")
    status: Annotated[list[CaseStatus], BeforeValidator(_listed)] = Field(
        default_factory=list, max_length=len(CaseStatus), description="In one of these statuses (repeatable)."
    )
    priority: Annotated[list[CasePriority], BeforeValidator(_listed)] = Field(
        default_factory=list, max_length=len(CasePriority), description="Of one of these priorities (repeatable)."
    )
    unit_id: Annotated[list[UUID], BeforeValidator(_listed)] = Field(
        default_factory=list, max_length=50, description="Of one of these business units (repeatable)."
    )
    assigned_to: UUID | None = Field(None, description="Assigned to this member.")
    unassigned: bool = Field(False, description="Only cases nobody is assigned to.")
    overdue: bool | None = Field(
        None, description="`true`: past the SLA due time and neither resolved nor closed; `false`: the others."
    )
    channel: str | None = Field(None, max_length=200)
    customer: str | None = Field(None, max_length=200)
    external_id: str | None = Field(None, max_length=255)
    occurred_after: datetime | None = Field(None, description="The row's `created_at` at or after (ISO 8601).")
    occurred_before: datetime | None = Field(None, description="The row's `created_at` before.")
    created_after: datetime | None = Field(None, description="Imported at or after.")
    created_before: datetime | None = Field(None, description="Imported before.")
    schema_id: UUID | None = Field(
        None, description="The schema whose enrichment the filters below look at; your default one when not given."
    )
    sentiment: str | None = Field(None, max_length=100, examples=["negative"])
    severity: str | None = Field(None, max_length=100, examples=["critical"])
    category: str | None = Field(None, max_length=100, examples=["billing"])
    subcategory: str | None = Field(None, max_length=100)
    risk_flag: bool | None = None
    needs_review: bool | None = Field(None, description="Flagged for a person (by the model, or low confidence).")
    min_confidence: float | None = Field(None, ge=0, le=1)
    max_confidence: float | None = Field(None, ge=0, le=1)
    field: Annotated[list[str], BeforeValidator(_listed)] = Field(
        default_factory=list,
        max_length=20,
        description="Any other enrichment field as `name:value` (repeatable); the value is read as JSON when it is "
        "JSON (`urgent:true`, `score:3`), else as text.",
        examples=[["product:mobile app"]],
        json_schema_extra={"items": {"type": "string", "maxLength": _FIELD_CHARACTERS, "pattern": _FIELD_PATTERN}},
    )

    @field_validator("field")
    @classmethod
    def _name_value(cls, values: list[str]) -> list[str]:
        for value in values:
            if len(value) > _FIELD_CHARACTERS:
                raise ValueError(f"a field filter is at most {_FIELD_CHARACTERS} characters")
            name, colon, _ = value.partition(":")
            if not colon or not name.strip():
                raise ValueError(f"'{value[:50]}' is not `name:value`")
            decoded = _json_or_text(value.partition(":")[2])
            if (error := json_limit_error(decoded, max_bytes=_FIELD_BYTES)) is not None:
                raise error
            # Also a NUL written as the JSON escape `\u0000`, which the URL does not show as %00.
            if "\x00" in value or "\\u0000" in json.dumps(decoded):
                raise ValueError("must not contain the NUL character")
        return values

    def enrichment(self) -> dict[str, Any]:
        """The enrichment fields asked for, as the JSON an enrichment's data must contain."""
        wanted: dict[str, Any] = {}
        for pair in self.field:
            name, _, raw = pair.partition(":")
            wanted[name.strip()] = _json_or_text(raw)
        named = {
            "sentiment": self.sentiment,
            "severity": self.severity,
            "category": self.category,
            "subcategory": self.subcategory,
            "risk_flag": self.risk_flag,
        }
        return wanted | {name: value for name, value in named.items() if value is not None}

    def explicit_filters(self) -> dict[str, Any]:
        """The filters the request names itself (not paging, not a view, nor anything a subclass adds)."""
        return self.model_dump(exclude_unset=True, include=set(CaseQuery.model_fields))


def _json_or_text(raw: str) -> Any:
    try:
        # orjson, unlike json, refuses NaN and Infinity, which JSONB cannot hold: they stay text (and so does
        # JSON nested past orjson's 255 levels).
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw


class CaseQueryParams(CaseQuery):
    """`CaseQuery` as query parameters, with paging and a saved view: a misspelled filter answers 422 rather than
    being ignored."""

    view: UUID | None = Field(
        None, description="A saved view whose filters apply; filters given here replace the view's of the same name."
    )
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(
        None,
        max_length=64,
        description="`next_cursor` of the previous page.",
        json_schema_extra={"pattern": CURSOR_PATTERN},
    )

    def page(self) -> PageRequest:
        return PageRequest.from_cursor(self.limit, self.cursor)


class _Changes(RequestModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=partial_update(nullable=("assigned_to", "unit_id"), at_least_one=True)
    )

    status: CaseStatus | None = Field(
        None,
        description="The next status: see the workflow. `resolved` sets `resolved_at`; reopening clears it. "
        "Resolving, closing and reopening are for supervisors and above.",
    )
    priority: CasePriority | None = Field(
        None, description="Sets `due_at` anew: the case's creation plus the organization's SLA hours for it."
    )
    assigned_to: UUID | None = Field(
        None,
        description="A member who sees the case's unit; null unassigns. Editors may take an unassigned case or give "
        "up their own; other assignments are for supervisors and above.",
    )

    @model_validator(mode="after")
    def _something_and_no_null_status(self) -> _Changes:
        if not self.model_fields_set:
            raise ValueError("name at least one change")
        for name in ("status", "priority"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"`{name}` cannot be null")
        return self


class CaseUpdate(_Changes):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=partial_update(
            nullable=("assigned_to", "unit_id"),
            at_least_one=True,
            examples=[
                {"status": "in_progress", "assigned_to": _EXAMPLE_ID},
                {"priority": "urgent"},
                {"status": "resolved"},
                {"assigned_to": None},
                {"unit_id": _EXAMPLE_ID},
            ],
        ),
    )

    unit_id: UUID | None = Field(
        None,
        description="Move the case to this business unit of the organization (null: no unit); for business-unit "
        "managers and above, to a unit they see.",
    )


class BulkChanges(_Changes):
    """The changes made to every case of a bulk update."""


class BulkUpdate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"ids": [_EXAMPLE_ID], "changes": {"status": "waiting", "priority": "high"}}]},
    )

    ids: list[UUID] = Field(
        min_length=1, max_length=1000, description="The cases, at most `FOLIO_CASES__MAX_BULK` (100 by default)."
    )
    changes: BulkChanges


class BulkResult(BaseModel):
    updated: list[UUID] = Field(description="The cases that changed, in id order.")
    unchanged: list[UUID] = Field(description="The cases that already were as asked.")


class CaseRead(BaseModel):
    id: UUID = Field(description="The case's document id: search hits, summaries and enrichments use it.")
    number: str = Field(
        description="The case's number in the organization, never reused; `/cases/C-000123` finds it too.",
        examples=["C-000123"],
    )
    external_id: str | None = Field(description="The id the row had in its source (a ticket id).")
    title: str
    text: str
    channel: str | None
    customer: str | None
    status: CaseStatus
    priority: CasePriority
    unit_id: UUID | None = Field(description="The business unit it belongs to; null: none.")
    assigned_to: UUID | None = Field(description="The member working it.")
    due_at: datetime | None = Field(description="The SLA due time: creation plus the SLA hours of its priority.")
    overdue: bool = Field(description="Past its due time and neither resolved nor closed.")
    resolved_at: datetime | None = Field(description="When it was resolved; null while open or after reopening.")
    occurred_at: datetime | None = Field(description="The row's `created_at`.")
    opened_at: datetime = Field(
        description="When the case began, as analytics count it: the row's `created_at`, else its import."
    )
    first_response_at: datetime | None = Field(
        description="The first comment or status change by a person (or the imported row's `first_response_at`)."
    )
    metadata: dict[str, Any] = Field(description="The row's other mapped columns.")
    batch_id: UUID | None = Field(description="The batch that last wrote it.")
    index_status: DocumentStatus = Field(description="`ready` once it is searchable.")
    enrichments: list[EnrichmentRead]
    created_at: datetime
    updated_at: datetime


class HistoryActor(BaseModel):
    type: str = Field(description="`user`, `api_key` or `system`.", examples=["user"])
    id: UUID | None
    name: str = Field(description="The member's or the API key's name; Folio for the system.", examples=["Ann Lee"])


class HistoryComment(BaseModel):
    id: UUID
    excerpt: str | None = Field(description="The comment's beginning; null once it is deleted.")
    mentions: list[UUID]
    deleted: bool


class HistoryEntry(BaseModel):
    id: int = Field(description="The event's id (as live streams and webhooks carry it).")
    type: str = Field(description="`case.updated` or `case.commented`.", examples=["case.updated"])
    actor: HistoryActor
    created_at: datetime
    changes: list[Change] = Field(description="Every field the change touched, from → to (empty for a comment).")
    comment: HistoryComment | None = Field(description="The comment, for `case.commented`.")


SlaHours = Annotated[int, Field(ge=1, le=MAX_SLA_HOURS)]


class CaseSettingsRead(BaseModel):
    sla_hours: dict[CasePriority, int] = Field(
        description="Hours from a case's creation to its due time, by priority.",
        examples=[{priority.value: hours for priority, hours in DEFAULT_SLA_HOURS.items()}],
    )
    overrides: dict[CasePriority, int] = Field(description="The organization's own hours; the defaults elsewhere.")
    defaults: dict[CasePriority, int] = Field(description="The server's hours.")


class CaseSettingsUpdate(RequestModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"sla_hours": {"urgent": 2, "high": 8}}]})

    sla_hours: dict[CasePriority, SlaHours] = Field(
        description="Hours (1 to 8760) by priority; a priority left out takes the default. Applies to cases "
        "created, or whose priority changes, from now on."
    )


class CasesEnrich(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"filters": {"channel": "email", "needs_review": True}}]},
    )

    filters: CaseQuery = Field(default_factory=CaseQuery)
    schema_id: UUID | None = Field(None, description="The schema to enrich with; your default one when not given.")
    template_id: UUID | None = Field(None, description="An `enrichment` prompt template for the model.")
    instructions: str | None = Field(None, max_length=4000)
    limit: int = Field(10_000, ge=1, le=100_000, description="At most this many cases, oldest first.")


class CasesEnrichAccepted(BaseModel):
    job_id: UUID | None = Field(description="The job enriching them; null when no case matched.")
    count: int = Field(description="Cases to enrich.")
