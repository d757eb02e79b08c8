from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from folio.models import JobStatus
from folio.schemas import ReadModel


class JobRead(ReadModel):
    id: UUID
    kind: str = Field(examples=["ingest_document"])
    subject_id: UUID | None = Field(description="What the job works on, such as a document id.")
    status: JobStatus
    stage: str | None = Field(examples=["embedding"])
    progress: int = Field(ge=0, le=100, description="Percent done.")
    message: str | None = Field(examples=["embedding 340/900 chunks"])
    attempts: int
    max_attempts: int
    error_code: str | None = Field(description="Why the last attempt failed (kept while a retry is pending).")
    error_message: str | None
    cancel_requested: bool
    payload: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_after: datetime = Field(description="When a queued job may start (later than now while backing off).")
