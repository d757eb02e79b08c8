from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin


class Chat(IdMixin, CreatedAtMixin, Base):
    """A conversation with the organization's documents, private to whoever started it (a user or an API key)."""

    __tablename__ = "chats"
    __table_args__ = (
        Index("ix_chats_org_id_id", "org_id", "id"),
        CheckConstraint("(user_id IS NULL) <> (api_key_id IS NULL)", name="one_owner"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    # The search filters every question of the chat is answered with.
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class ChatMessage(IdMixin, CreatedAtMixin, Base):
    """A turn of a chat. Assistant turns keep their citations, model and token usage as they were answered."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_chat_id_id", "chat_id", "id"),)

    chat_id: Mapped[UUID] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text)
    # A user turn's question as retrieval saw it: follow-ups are rewritten to stand alone.
    standalone_question: Mapped[str | None] = mapped_column(Text)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # An assistant turn whose stream ended before the answer did (its client left, the model failed): the text
    # is what had been answered by then.
    interrupted: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
