from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import ForeignKeyConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum


class NotificationKind(StrEnum):
    CASE_ASSIGNED = "case_assigned"
    MENTION = "mention"
    SHARE = "share"
    ALERT = "alert"
    JOB_FAILED = "job_failed"
    WEBHOOK_DISABLED = "webhook_disabled"
    PULSE = "pulse"
    INTEGRATION = "integration"


class NotificationChannel(StrEnum):
    """Where a member's notifications of a kind go: their inbox and live streams, only the organization's webhooks
    (the `notification.created` event), or nowhere."""

    IN_APP = "in_app"
    WEBHOOK = "webhook"
    OFF = "off"


def _of_member(table: str) -> ForeignKeyConstraint:
    """A member's row: it goes when they leave the organization."""
    return ForeignKeyConstraint(
        ["org_id", "user_id"],
        ["memberships.org_id", "memberships.user_id"],
        name=f"fk_{table}_org_id_user_id_memberships",
        ondelete="CASCADE",
    )


class Notification(IdMixin, CreatedAtMixin, Base):
    """One item of a member's inbox in an organization."""

    __tablename__ = "notifications"
    __table_args__ = (
        _of_member("notifications"),
        # The inbox, newest first, and the pruning of its oldest items.
        Index("ix_notifications_org_id_user_id_id", "org_id", "user_id", "id"),
        # The unread count, asked for by every open client.
        Index("ix_notifications_unread", "org_id", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    org_id: Mapped[UUID]
    user_id: Mapped[UUID]
    kind: Mapped[NotificationKind] = mapped_column(text_enum(NotificationKind, "notification_kind"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    # What it is about (a case, a job, a webhook endpoint…), as the event's subject names it.
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[UUID | None]
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[UUID | None]
    read_at: Mapped[datetime | None]


class NotificationPreference(Base):
    """A member's channel for one kind of notification; a kind without a row goes to the inbox (`in_app`)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (_of_member("notification_preferences"),)

    org_id: Mapped[UUID] = mapped_column(primary_key=True)
    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(text_enum(NotificationKind, "notification_kind"), primary_key=True)
    channel: Mapped[NotificationChannel] = mapped_column(text_enum(NotificationChannel, "notification_channel"))
