from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from folio.ingestion.extracted import FileKind
from folio.models import DocumentStatus
from folio.schemas import Metadata, ReadModel, RequestModel


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
    source_type: str = Field(
        description="Where it came from: `upload` (a file sent to the API), `record` (a row of a case batch), `web` "
        "(a page fetched by `POST /api/v1/documents/import-url` or a web integration), or the kind of the "
        "integration that synced it: `notion`, `confluence`, `guru`."
    )
    source_url: str | None = Field(
        description="Its link at the source: the address it was fetched from (after redirects), or the page, card "
        "or attachment a synced item opens at."
    )
    external_last_updated: datetime | None = Field(
        description="When the source last changed it, as the source said (a web page's `Last-Modified`, a Notion "
        "page's edit time)."
    )
    integration_id: UUID | None = Field(description="The integration that synced it (null: not synced).")
    external_id: str | None = Field(description="Its id at the integration's source.")
    version: int = Field(description="The live chunk version; it grows by one with every completed (re)index.")
    language: str | None = Field(
        description="The language its text was detected in when it was last indexed (ISO 639-1, such as `de` or "
        "`zh`): its keyword index stems words by that language's rules where PostgreSQL has them. Null when the "
        "text was too short or mixed to tell (it is then indexed with the deployment's default), and for "
        "documents indexed before languages were detected (English; reindex to detect).",
        examples=["de"],
    )
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


class DocumentUpdate(RequestModel):
    title: str | None = Field(None, min_length=1, max_length=500)
    tags: list[str] | None = Field(None, max_length=50, description="Replaces the tags.")
    metadata: Metadata | None = Field(
        None, description="Replaces the metadata (a JSON object, 16 KiB at most, nested at most 32 levels)."
    )

    @field_validator("tags")
    @classmethod
    def _tag_lengths(cls, tags: list[str] | None) -> list[str] | None:
        if tags is not None and any(len(tag) > 64 or "\x00" in tag for tag in tags):
            raise ValueError("tags are at most 64 characters, without NUL")
        return tags

    @field_validator("metadata")
    @classmethod
    def _metadata_without_nul(cls, metadata: dict[str, Any] | None) -> dict[str, Any] | None:
        # Bounded already (the `Metadata` type checks first), so encoding it cannot recurse too deep.
        if metadata is not None and "\\u0000" in json.dumps(metadata):
            raise ValueError("metadata must not contain NUL characters")
        return metadata


class ImportUrl(DocumentUpdate):
    """A document fetched from the web (its fields checked as an update's)."""

    url: str = Field(
        min_length=8,
        max_length=2000,
        pattern=r"^https?://",
        description="A public http(s) address of an HTML page or a PDF, DOCX, Markdown or text file.",
        examples=["https://example.com/handbook/leave-policy.html"],
    )
    title: str | None = Field(None, min_length=1, max_length=500, description="Default: the file name of the URL.")
    tags: list[str] | None = Field(None, max_length=50)
    allow_duplicate: bool = Field(False, description="Store it even if the organization has the same content.")

    @field_validator("url")
    @classmethod
    def _has_a_host(cls, url: str) -> str:
        try:
            host = urlsplit(url).hostname
        except ValueError as exc:  # a malformed port or IPv6 literal
            raise ValueError("url is not a valid address") from exc
        if not host:
            raise ValueError("url has no host")
        return url


class PageSpanRead(BaseModel):
    number: int
    start: int = Field(description="Offset of the page's first character in `text`.")
    end: int


class DocumentContentRead(BaseModel):
    document_id: UUID
    version: int
    text: str
    pages: list[PageSpanRead]


class ChunkRead(ReadModel):
    id: UUID
    ordinal: int
    text: str
    start_char: int = Field(description="Offset in the document's content text.")
    end_char: int
    page_start: int
    page_end: int
    token_count: int
