from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from folio.models import BatchFormat, BatchStatus
from folio.pagination import Page
from folio.schemas import ReadModel


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
