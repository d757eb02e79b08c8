from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum


class ExportSource(StrEnum):
    CASES = "cases"
    DOCUMENTS = "documents"
    SUMMARIES = "summaries"
    AUDIT = "audit"
    SEARCH = "search"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    XLSX = "xlsx"
    MD = "md"


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def active(self) -> bool:
        return self in {ExportStatus.QUEUED, ExportStatus.RUNNING}


class Export(IdMixin, CreatedAtMixin, Base):
    """An export written by a job into a stored file, read by its requester until `expires_at`, then deleted.

    The job reads as its requester: `scopes` and `units` are what the request could read, and the job reads no more
    than that and what the member can read when it runs.
    """

    __tablename__ = "exports"
    __table_args__ = (
        Index("ix_exports_org_id_created_by_id", "org_id", "created_by", "id"),
        Index("ix_exports_api_key_id_id", "api_key_id", "id"),
        Index("ix_exports_expires_at", "expires_at"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    source: Mapped[ExportSource] = mapped_column(text_enum(ExportSource, "export_source"))
    format: Mapped[ExportFormat] = mapped_column(text_enum(ExportFormat, "export_format"))
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    bom: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    # None: every business unit.
    units: Mapped[list[UUID] | None] = mapped_column(ARRAY(Uuid))
    status: Mapped[ExportStatus] = mapped_column(
        text_enum(ExportStatus, "export_status"), default=ExportStatus.QUEUED, server_default=ExportStatus.QUEUED.value
    )
    job_id: Mapped[UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int | None] = mapped_column(BigInteger)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    # Set only once the whole file is stored: a failed or unfinished attempt leaves no file to download.
    storage_key: Mapped[str | None] = mapped_column(String(128))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(2000))
    expires_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
