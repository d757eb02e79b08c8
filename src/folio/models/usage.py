from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin


class UsageEvent(IdMixin, CreatedAtMixin, Base):
    """One call of a language or embedding model, with who caused it, its tokens and its cost."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_org_id_created_at", "org_id", "created_at"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    api_key_id: Mapped[UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    # What the call was for: answer, chat, openai, summary, enrichment, embedding.
    kind: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    # USD from FOLIO_USAGE__PRICES when the call was made; NULL when the model has no price.
    cost: Mapped[Decimal | None] = mapped_column(Numeric(14, 6))
