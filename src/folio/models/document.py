from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum
from folio.ingestion.extracted import FileKind


class DocumentStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


class Document(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_org_id_id", "org_id", "id"),
        Index("ix_documents_org_id_sha256", "org_id", "sha256"),
        Index("ix_documents_tags", "tags", postgresql_using="gin"),
        Index(
            "ux_documents_integration_id_external_id",
            "integration_id",
            "external_id",
            unique=True,
            postgresql_where=text("integration_id IS NOT NULL"),
        ),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(500))
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[FileKind] = mapped_column(text_enum(FileKind, "file_kind"))
    status: Mapped[DocumentStatus] = mapped_column(
        text_enum(DocumentStatus, "document_status"), default=DocumentStatus.PENDING
    )
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(2000))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    # "metadata" is reserved on declarative classes, hence the attribute name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict, server_default=text("'{}'::jsonb"))
    # None for records, whose text comes from a row of a batch file rather than a file of their own.
    # Where it came from: "upload" (a file sent to the API), "record" (a batch row) or "web" (a page fetched from
    # `source_url`), and when the source says it last changed (a web page's Last-Modified).
    source_type: Mapped[str] = mapped_column(String(32), default="upload", server_default="upload")
    source_url: Mapped[str | None] = mapped_column(String(2000))
    external_last_updated: Mapped[datetime | None]
    # A synced document's integration, its id there, and the source's marker of the version held (an edit time,
    # a version number, an ETag): a sync fetches an item again only when its marker changed.
    integration_id: Mapped[UUID | None] = mapped_column(ForeignKey("integrations.id", ondelete="SET NULL"))
    external_id: Mapped[str | None] = mapped_column(String(500))
    external_version: Mapped[str | None] = mapped_column(String(200))
    storage_key: Mapped[str | None] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    # The chunk version searches see; a reindex writes version + 1 beside it and then moves this pointer.
    version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The language its text was detected in when last indexed (ISO 639-1); null when it could not be told, or for a
    # document indexed before languages were detected. Its chunks' `search_config` follows from it.
    language: Mapped[str | None] = mapped_column(String(16))
    page_count: Mapped[int | None]
    char_count: Mapped[int | None]
    chunk_count: Mapped[int | None]
    processed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class DocumentContent(Base):
    """The extracted text of a document's live version, with its page boundaries, kept apart from the row."""

    __tablename__ = "document_contents"

    document_id: Mapped[UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    # [[page number, start, end], ...] over `text`.
    pages: Mapped[list[list[int]]] = mapped_column(JSONB)
