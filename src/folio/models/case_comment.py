from __future__ import annotations

from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin


class CaseComment(IdMixin, CreatedAtMixin, Base):
    """A comment on a case, with the members it @mentions."""

    __tablename__ = "case_comments"
    __table_args__ = (Index("ix_case_comments_case_id_id", "case_id", "id"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    case_id: Mapped[UUID] = mapped_column(ForeignKey("records.document_id", ondelete="CASCADE"))
    author_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(String(10_000))
    mentions: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default="{}")
