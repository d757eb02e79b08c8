from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum
from folio.models.share import OneItem


class ShareLink(OneItem, IdMixin, CreatedAtMixin, Base):
    """A public, read-only link to a document or a summary: whoever holds its token reads the item until the link
    expires or is revoked, with a password too when it has one. Only digests of the token and password are kept."""

    __tablename__ = "share_links"
    __table_args__ = (
        CheckConstraint("num_nonnulls(document_id, summary_id) = 1", name="one_item"),
        Index("ix_share_links_org_id_id", "org_id", "id"),
        Index("ix_share_links_document_id", "document_id"),
        Index("ix_share_links_summary_id", "summary_id"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # The member the link reads the item as: it dies with their membership (or account).
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    document_id: Mapped[UUID | None] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    summary_id: Mapped[UUID | None] = mapped_column(ForeignKey("summaries.id", ondelete="CASCADE"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Password attempts not yet known to have succeeded: counted before the (slow) check, so that attempts made at
    # once count too; reaching the limit locks the link until `locked_until`.
    password_attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    locked_until: Mapped[datetime | None]


class AccessOutcome(StrEnum):
    OK = "ok"
    EXPIRED = "expired"
    REVOKED = "revoked"
    PASSWORD_REQUIRED = "needs_password"  # noqa: S105
    WRONG_PASSWORD = "wrong_password"  # noqa: S105
    LOCKED = "locked"
    UNAVAILABLE = "unavailable"


class ShareLinkAccess(IdMixin, CreatedAtMixin, Base):
    """One use of a link's token, served or refused; a link keeps its newest accesses only."""

    __tablename__ = "share_link_accesses"
    __table_args__ = (Index("ix_share_link_accesses_link_id_id", "link_id", "id"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    link_id: Mapped[UUID] = mapped_column(ForeignKey("share_links.id", ondelete="CASCADE"))
    outcome: Mapped[AccessOutcome] = mapped_column(text_enum(AccessOutcome, "share_link_access_outcome"))
    download: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(300))
