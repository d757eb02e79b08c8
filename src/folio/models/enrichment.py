from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum


class EnrichmentStatus(StrEnum):
    PENDING = "pending"
    ENRICHED = "enriched"
    # The model's answer did not follow the schema, even when told why: `raw_output` keeps it for a person.
    NEEDS_REVIEW = "needs_review"
    FAILED = "failed"


class EnrichmentSchema(IdMixin, CreatedAtMixin, Base):
    """A JSON Schema that enrichments follow. Built-in schemas (no organization) are read by every organization."""

    __tablename__ = "enrichment_schemas"
    __table_args__ = (
        Index("uq_enrichment_schemas_org_id_name", "org_id", "name", unique=True, postgresql_nulls_not_distinct=True),
        Index(
            "uq_enrichment_schemas_default",
            "org_id",
            unique=True,
            postgresql_where=text("is_default"),
            postgresql_nulls_not_distinct=True,
        ),
    )

    org_id: Mapped[UUID | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # `schema` would shadow pydantic's BaseModel.schema in the read models, hence the attribute name.
    json_schema: Mapped[dict[str, Any]] = mapped_column("schema", JSONB)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    @property
    def builtin(self) -> bool:
        return self.org_id is None


class Enrichment(IdMixin, CreatedAtMixin, Base):
    """A document's (or record's) structured analysis against one schema; enriching again replaces it."""

    __tablename__ = "enrichments"
    __table_args__ = (
        Index("uq_enrichments_document_id_schema_id", "document_id", "schema_id", unique=True),
        Index("ix_enrichments_job_id_id", "job_id", "id"),
        Index("ix_enrichments_data", "data", postgresql_using="gin", postgresql_ops={"data": "jsonb_path_ops"}),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    document_id: Mapped[UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    schema_id: Mapped[UUID] = mapped_column(ForeignKey("enrichment_schemas.id", ondelete="CASCADE"))
    template_id: Mapped[UUID | None] = mapped_column(ForeignKey("prompt_templates.id", ondelete="SET NULL"))
    instructions: Mapped[str | None] = mapped_column(Text)
    status: Mapped[EnrichmentStatus] = mapped_column(text_enum(EnrichmentStatus, "enrichment_status"))
    job_id: Mapped[UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    raw_output: Mapped[str | None] = mapped_column(Text)
    model: Mapped[str | None] = mapped_column(String(200))
    confidence: Mapped[float | None] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    document_version: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    enriched_at: Mapped[datetime | None]
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
