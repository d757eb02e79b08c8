from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


class CasePriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class BatchStatus(StrEnum):
    PENDING = "pending"
    IMPORTING = "importing"
    INDEXING = "indexing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BatchFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


class Record(Base):
    """A case: the row of a batch that a document of kind `record` holds, with its fields and its workflow.

    The text is the document's content; title, tags and metadata are the document's, so a record is searched,
    summarised and enriched like any document.
    """

    __tablename__ = "records"
    __table_args__ = (
        # Re-uploading a row with the same external id updates the record instead of adding another.
        Index(
            "uq_records_org_id_external_id",
            "org_id",
            "external_id",
            unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        Index("uq_records_org_id_number", "org_id", "number", unique=True),
        Index("ix_records_org_id_case_status", "org_id", "case_status"),
        # A unit's cases of a status, in the list's order: a limited member's page reads only its own rows.
        Index("ix_records_org_id_unit_id_case_status", "org_id", "unit_id", "case_status", "document_id"),
        Index("ix_records_org_id_due_at", "org_id", "due_at", postgresql_where=text("resolved_at IS NULL")),
        Index("ix_records_org_id_occurred_at", "org_id", "occurred_at"),
        # With the unit and category: trending counts a window's cases from the index alone.
        Index("ix_records_org_id_opened_at", "org_id", "opened_at", postgresql_include=["unit_id", "category"]),
        Index(
            "ix_records_org_id_resolved_at", "org_id", "resolved_at", postgresql_where=text("resolved_at IS NOT NULL")
        ),
        # The backlog (neither resolved nor closed), with what the overview counts of it.
        Index(
            "ix_records_org_id_backlog",
            "org_id",
            "unit_id",
            postgresql_include=["due_at"],
            postgresql_where=text("case_status NOT IN ('resolved', 'closed')"),
        ),
        Index("ix_records_batch_id_document_id", "batch_id", "document_id"),
    )

    document_id: Mapped[UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str | None] = mapped_column(String(200))
    customer: Mapped[str | None] = mapped_column(String(200))
    # The case's human number in its organization (shown as C-000123), drawn from `organizations.case_numbers`.
    number: Mapped[int] = mapped_column(BigInteger)
    unit_id: Mapped[UUID | None] = mapped_column(ForeignKey("business_units.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime | None]
    # When the case began, for analytics: the row's own time (`occurred_at`), else its import.
    opened_at: Mapped[datetime] = mapped_column(server_default=func.now())
    case_status: Mapped[CaseStatus] = mapped_column(
        text_enum(CaseStatus, "case_status"), default=CaseStatus.OPEN, server_default=CaseStatus.OPEN.value
    )
    priority: Mapped[CasePriority] = mapped_column(
        text_enum(CasePriority, "case_priority"), default=CasePriority.NORMAL, server_default=CasePriority.NORMAL.value
    )
    assigned_to: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # When the case should be resolved by, from its priority's SLA (`organizations.sla_hours`) and its creation.
    due_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # The first comment or status change by a person (or the imported row's own first-response time).
    first_response_at: Mapped[datetime | None]
    # The labels of the case's enrichment by the organization's default schema, copied when it is written, so that
    # analytics group a million cases without reading their enrichments' JSON.
    sentiment: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(100))
    # The batch that last wrote the row.
    batch_id: Mapped[UUID | None] = mapped_column(ForeignKey("record_batches.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class RecordBatch(IdMixin, CreatedAtMixin, Base):
    """An uploaded CSV or JSONL file of records and the job importing it, with its counts."""

    __tablename__ = "record_batches"
    __table_args__ = (Index("ix_record_batches_org_id_id", "org_id", "id"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[BatchFormat] = mapped_column(text_enum(BatchFormat, "batch_format"))
    # The uploaded file, removed once every row is in; a failed import keeps it so that a retry can resume.
    storage_key: Mapped[str | None] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSONB)
    delimiter: Mapped[str | None] = mapped_column(String(1))
    encoding: Mapped[str | None] = mapped_column(String(32))
    enrich: Mapped[bool] = mapped_column(Boolean)
    schema_id: Mapped[UUID | None] = mapped_column(ForeignKey("enrichment_schemas.id", ondelete="SET NULL"))
    status: Mapped[BatchStatus] = mapped_column(text_enum(BatchStatus, "batch_status"), default=BatchStatus.PENDING)
    job_id: Mapped[UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    # Rows of the file read so far (valid or not): a retried job resumes after them.
    rows_read: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_created: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rows_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    records_indexed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    records_enriched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    records_needing_review: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(2000))
    imported_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class RecordBatchError(IdMixin, Base):
    """A row of a batch file that did not become a record, with where it is and why."""

    __tablename__ = "record_batch_errors"
    __table_args__ = (Index("ix_record_batch_errors_batch_id_id", "batch_id", "id"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    batch_id: Mapped[UUID] = mapped_column(ForeignKey("record_batches.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(500))
    excerpt: Mapped[str] = mapped_column(String(200))
