from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from folio.ingestion.extracted import FileKind
from folio.models import DocumentStatus
from folio.schemas import ReadModel


class DocumentRead(ReadModel):
    id: UUID
    title: str
    filename: str = Field(description="The uploaded file's name (display only).")
    kind: FileKind
    status: DocumentStatus
    error_code: str | None = Field(description="Why ingestion failed, such as PDF_ENCRYPTED.")
    error_message: str | None
    tags: list[str]
    metadata: dict[str, Any] = Field(validation_alias="meta")
    size_bytes: int
    sha256: str
    version: int = Field(description="The live chunk version; it grows by one with every completed (re)index.")
    page_count: int | None
    char_count: int | None
    chunk_count: int | None
    created_at: datetime
    updated_at: datetime
    processed_at: datetime | None


class UploadedDocument(BaseModel):
    document: DocumentRead
    job_id: UUID | None = Field(description="The ingestion job to follow; null for a deduplicated upload.")
    deduplicated: bool = Field(description="The organization already had this content; this is that document.")


class UploadResponse(BaseModel):
    items: list[UploadedDocument]
