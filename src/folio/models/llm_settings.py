from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, text_enum


class LLMProviderKind(StrEnum):
    EXTRACTIVE = "extractive"
    OPENAI = "openai"


class OrgLLMSettings(CreatedAtMixin, Base):
    """An organization's own language model, used instead of the server's (FOLIO_LLM__*)."""

    __tablename__ = "org_llm_settings"

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    provider: Mapped[LLMProviderKind] = mapped_column(text_enum(LLMProviderKind, "llm_provider"))
    # NULL with provider `openai` means OpenAI's own endpoint.
    base_url: Mapped[str | None] = mapped_column(String(2000))
    model: Mapped[str | None] = mapped_column(String(200))
    # A Fernet token under FOLIO_ENCRYPTION_KEYS, never the key itself; NULL for servers that take none.
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())
