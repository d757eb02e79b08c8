from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum


class TemplateKind(StrEnum):
    SUMMARY = "summary"
    ENRICHMENT = "enrichment"


class PromptTemplate(IdMixin, CreatedAtMixin, Base):
    """A prompt with named variables. Built-in templates (no organization) are read by every organization and
    changed only by migrations; an organization's own are private to it."""

    __tablename__ = "prompt_templates"
    __table_args__ = (
        Index("uq_prompt_templates_org_id_name", "org_id", "name", unique=True, postgresql_nulls_not_distinct=True),
        # One default per kind among the built-ins, and one per kind in each organization.
        Index(
            "uq_prompt_templates_default",
            "org_id",
            "kind",
            unique=True,
            postgresql_where=text("is_default"),
            postgresql_nulls_not_distinct=True,
        ),
    )

    org_id: Mapped[UUID | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    kind: Mapped[TemplateKind] = mapped_column(text_enum(TemplateKind, "template_kind"))
    prompt: Mapped[str] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    @property
    def builtin(self) -> bool:
        return self.org_id is None
