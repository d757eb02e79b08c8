from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import ForeignKey, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum


class SummaryStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SummaryFormat(StrEnum):
    PARAGRAPH = "paragraph"
    BULLETS = "bullets"
    MARKDOWN = "markdown"


class SummaryLength(StrEnum):
    SHORT = "short"
    MEDIUM = "medium"
    LONG = "long"


class Summary(IdMixin, CreatedAtMixin, Base):
    """A summary of a document's version, written by a job. Regenerating keeps the old text until the new is in."""

    __tablename__ = "summaries"
    __table_args__ = (
        Index("ix_summaries_org_id_id", "org_id", "id"),
        Index("ix_summaries_document_id", "document_id"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    document_id: Mapped[UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    # NULL once the organization deletes the template; `template_name` still says which it was.
    template_id: Mapped[UUID | None] = mapped_column(ForeignKey("prompt_templates.id", ondelete="SET NULL"))
    template_name: Mapped[str | None] = mapped_column(String(100))
    instructions: Mapped[str | None] = mapped_column(Text)
    format: Mapped[SummaryFormat] = mapped_column(text_enum(SummaryFormat, "summary_format"))
    length: Mapped[SummaryLength] = mapped_column(text_enum(SummaryLength, "summary_length"))
    language: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[SummaryStatus] = mapped_column(text_enum(SummaryStatus, "summary_status"))
    job_id: Mapped[UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    # What the text was written from and by: the document's version, the model, the tokens it took.
    document_version: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(200))
    extractive: Mapped[bool | None]
    sections: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
