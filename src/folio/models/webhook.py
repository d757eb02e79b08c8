from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum


class WebhookEndpoint(IdMixin, CreatedAtMixin, Base):
    """A URL an organization's events are POSTed to, signed with its own secret (Standard Webhooks)."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        Index("ix_webhook_endpoints_org_id_id", "org_id", "id"),
        # The fan-out's question: which organizations have an enabled endpoint at all.
        Index("ix_webhook_endpoints_enabled_org_id", "org_id", postgresql_where=text("enabled")),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # Empty: every durable event type.
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # The newest event id when the endpoint was created or last enabled: it receives only the events after it.
    events_after: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Deliveries that failed for good since the last one that succeeded; pings do not count.
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Fernet tokens under FOLIO_ENCRYPTION_KEYS, never the secret itself. The previous secret keeps signing too
    # until it expires, so a receiver can switch to the rotated one without missing a delivery.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    previous_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class DeliveryError(StrEnum):
    """Why an attempt failed, in our words; the receiver's own answer is in the status code and excerpt."""

    HTTP_STATUS = "http_status"
    REDIRECT = "redirect"
    TIMEOUT = "timeout"
    CONNECT_FAILED = "connect_failed"
    ADDRESS_REFUSED = "address_refused"
    RESPONSE_REFUSED = "response_refused"
    DISABLED = "disabled"
    CANCELLED = "cancelled"
    WORKER_LOST = "worker_lost"
    UNSIGNABLE = "unsignable"


class WebhookDelivery(IdMixin, CreatedAtMixin, Base):
    """One message to one endpoint, tried by a `webhook.deliver` job until it succeeds or its attempts run out.

    The body is stored as sent, so every attempt (and a redelivery) sends the same bytes under the same
    `webhook-id`, whatever happens to the event afterwards.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_created_at", "created_at"),
        Index("ix_webhook_deliveries_pending", "endpoint_id", postgresql_where=text("status = 'pending'")),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    endpoint_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # The outbox id; no foreign key, as events are pruned after FOLIO_EVENTS__RETENTION_DAYS. NULL for a ping.
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    # A ping or a redelivery, asked for by an admin (they are bounded per endpoint).
    manual: Mapped[bool] = mapped_column(default=False, server_default="false")
    redelivery_of: Mapped[UUID | None] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="SET NULL"))
    job_id: Mapped[UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    status: Mapped[DeliveryStatus] = mapped_column(
        text_enum(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[DeliveryError | None] = mapped_column(text_enum(DeliveryError, "webhook_delivery_error"))
    last_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]


class WebhookAttempt(IdMixin, Base):
    """One POST of a delivery and what came back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id_attempt", "delivery_id", "attempt"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    delivery_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(SmallInteger)
    succeeded: Mapped[bool]
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[DeliveryError | None] = mapped_column(text_enum(DeliveryError, "webhook_delivery_error"))
    attempted_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WebhookCursor(Base):
    """The one row saying how far the fan-out has read the outbox: events up to `last_event_id` have their
    deliveries. Locked with SKIP LOCKED, so one process fans out at a time and the others pass."""

    __tablename__ = "webhook_cursor"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    last_event_id: Mapped[int] = mapped_column(BigInteger)
