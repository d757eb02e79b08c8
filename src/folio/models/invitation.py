from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum
from folio.models.membership import Role


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"


class Invitation(IdMixin, CreatedAtMixin, Base):
    """An offer of membership to whoever holds an email address; it becomes a membership only when they accept."""

    __tablename__ = "invitations"
    __table_args__ = (
        # One open invitation per address and organization: inviting again refreshes it.
        Index(
            "uq_invitations_org_id_email_pending",
            "org_id",
            "email",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_invitations_email", "email"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(text_enum(Role, "role"))
    invited_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[InvitationStatus] = mapped_column(
        text_enum(InvitationStatus, "invitation_status"), default=InvitationStatus.PENDING
    )
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
