from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from folio.enrichment.schemas import EnrichmentRead
from folio.models import BatchFormat, BatchStatus, CaseStatus, DocumentStatus
from folio.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page, PageRequest
from folio.schemas import ReadModel, RequestModel, json_limit_error

# An enrichment field's value to filter by, as JSON.
_FIELD_BYTES = 4096


class RecordQuery(RequestModel):
    """Which records: by their fields, their case workflow, and the labels of their enrichment."""

    model_config = ConfigDict(extra="forbid")

    batch_id: UUID | None = Field(None, description="Written (last) by this batch.")
    status: CaseStatus | None = Field(None, description="Case status.")
    assigned_to: UUID | None = Field(None, description="Assigned to this user.")
    unassigned: bool = Field(False, description="Only records nobody is assigned to.")
    business_unit: str | None = Field(None, max_length=200)
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
    field: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Any other enrichment field as `name:value` (repeatable); the value is read as JSON when it is "
        "JSON (`urgent:true`, `score:3`), else as text.",
        examples=[["product:mobile app"]],
    )

    @field_validator("field")
    @classmethod
    def _name_value(cls, values: list[str]) -> list[str]:
        for value in values:
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


def _json_or_text(raw: str) -> Any:
    try:
        # orjson, unlike json, refuses NaN and Infinity, which JSONB cannot hold: they stay text (and so does
        # JSON nested past orjson's 255 levels).
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw


class RecordQueryParams(RecordQuery):
    """`RecordQuery` as query parameters, with paging: a misspelled filter answers 422 rather than being ignored."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(None, max_length=64, description="`next_cursor` of the previous page.")

    def page(self) -> PageRequest:
        return PageRequest.from_cursor(self.limit, self.cursor)


class RecordUpdate(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"status": "in_progress", "assigned_to": "0192f0c4-1d2e-7a3b-8c4d-5e6f7a8b9c0d"},
                {"status": "resolved"},
                {"assigned_to": None},
            ]
        },
    )

    status: CaseStatus | None = Field(
        None, description="`resolved` sets `resolved_at`; moving back to open or in_progress clears it."
    )
    assigned_to: UUID | None = Field(None, description="A member of your organization; null unassigns.")


class RecordRead(BaseModel):
    id: UUID = Field(description="The record's document id: search hits, summaries and enrichments use it.")
    external_id: str | None
    title: str
    text: str
    channel: str | None
    customer: str | None
    business_unit: str | None
    occurred_at: datetime | None = Field(description="The row's `created_at`.")
    metadata: dict[str, Any] = Field(description="The row's other mapped columns.")
    status: CaseStatus
    assigned_to: UUID | None
    resolved_at: datetime | None
    batch_id: UUID | None = Field(description="The batch that last wrote it.")
    index_status: DocumentStatus = Field(description="`ready` once it is searchable.")
    enrichments: list[EnrichmentRead]
    created_at: datetime
    updated_at: datetime


class BatchErrorRead(ReadModel):
    line: int = Field(description="The line of the file where the row starts (the header is line 1).")
    code: str = Field(
        examples=["MISSING_TEXT"],
        description="MISSING_TEXT, TEXT_TOO_LONG, FIELD_TOO_LONG, INVALID_DATE, INVALID_JSON, NOT_AN_OBJECT, "
        "WRONG_FIELD_COUNT, INVALID_ENCODING or MALFORMED_ROW.",
    )
    message: str
    excerpt: str = Field(description="The start of the row, to find it.")


class BatchRead(ReadModel):
    id: UUID
    filename: str
    format: BatchFormat
    size_bytes: int
    mapping: dict[str, str]
    delimiter: str | None
    encoding: str | None
    enrich: bool
    schema_id: UUID | None
    status: BatchStatus
    job_id: UUID | None = Field(description="The import job: follow its progress at /api/v1/jobs/{id}.")
    rows_read: int = Field(description="Rows of the file read so far, valid or not.")
    rows_created: int
    rows_updated: int = Field(description="Rows whose external id was known and whose text changed.")
    rows_unchanged: int = Field(description="Rows whose external id was known with the same text (fields updated).")
    rows_failed: int = Field(description="Rows refused; `errors` says where and why.")
    records_indexed: int
    records_enriched: int
    records_needing_review: int
    error_code: str | None
    error_message: str | None
    imported_at: datetime | None = Field(description="When every row had been read.")
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime


class BatchDetail(BatchRead):
    errors: Page[BatchErrorRead] = Field(description="Row errors in file order, paged by `errors_cursor`.")


class RecordsEnrich(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"filters": {"channel": "email", "needs_review": True}}]},
    )

    filters: RecordQuery = Field(default_factory=RecordQuery)
    schema_id: UUID | None = Field(None, description="The schema to enrich with; your default one when not given.")
    template_id: UUID | None = Field(None, description="An `enrichment` prompt template for the model.")
    instructions: str | None = Field(None, max_length=4000)
    limit: int = Field(10_000, ge=1, le=100_000, description="At most this many records, oldest first.")


class RecordsEnrichAccepted(BaseModel):
    job_id: UUID | None = Field(description="The job enriching them; null when no record matched.")
    count: int = Field(description="Records to enrich.")
