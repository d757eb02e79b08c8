from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum


class IntegrationKind(StrEnum):
    NOTION = "notion"
    CONFLUENCE = "confluence"
    GURU = "guru"
    WEB = "web"


class IntegrationStatus(StrEnum):
    """`needs_reauth`: the source refused the credentials (and no refresh token renewed them); syncs stop until
    new credentials are set. `failing`: the last sync failed for another reason; the next one is tried as usual."""

    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"
    FAILING = "failing"


class Integration(IdMixin, CreatedAtMixin, Base):
    """A source an organization's documents are synced from (a Notion workspace, a Confluence site, a Guru team,
    a web site), with its credentials encrypted under FOLIO_ENCRYPTION_KEYS."""

    __tablename__ = "integrations"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        Index("ix_integrations_org_id_id", "org_id", "id"),
        # The scheduler's question: which enabled integrations are due.
        Index("ix_integrations_next_sync_at", "next_sync_at", postgresql_where=text("enabled")),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[IntegrationKind] = mapped_column(text_enum(IntegrationKind, "integration_kind"))
    name: Mapped[str] = mapped_column(String(200))
    # What to sync and from where, per kind (never secret): spaces, databases, collections, a site URL.
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    # A Fernet token of the credentials' JSON object; never returned.
    credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    # How the credentials were set: "token" (pasted) or "oauth" (the connection flow, with a refresh token maybe).
    auth_method: Mapped[str] = mapped_column(String(16), default="token", server_default="token")
    sync_interval_minutes: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    status: Mapped[IntegrationStatus] = mapped_column(
        text_enum(IntegrationStatus, "integration_status"), default=IntegrationStatus.ACTIVE, server_default="active"
    )
    status_message: Mapped[str | None] = mapped_column(String(500))
    # The connector's own state between syncs (a listing cursor, a crawl's validators); opaque to the rest.
    cursor: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    last_synced_at: Mapped[datetime | None]
    next_sync_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class SyncStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class IntegrationSync(IdMixin, Base):
    """One sync of an integration: when, what changed, and the items that could not be synced."""

    __tablename__ = "integration_syncs"
    __table_args__ = (Index("ix_integration_syncs_integration_id_started_at", "integration_id", "started_at"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    integration_id: Mapped[UUID] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    job_id: Mapped[UUID | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    status: Mapped[SyncStatus] = mapped_column(
        text_enum(SyncStatus, "integration_sync_status"), default=SyncStatus.RUNNING, server_default="running"
    )
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]
    listed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    deleted: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Calls made to the source, the change listing's included.
    requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(2000))
    # The items that failed: [{"external_id", "title", "code", "message"}], the first ones only.
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'::jsonb"))


class SummaryPublication(IdMixin, CreatedAtMixin, Base):
    """A summary written back to an integration's source (a Notion page's block, a Confluence page's comment), with
    the link a person opens there. One per summary, integration and target: publishing again finds it."""

    __tablename__ = "summary_publications"
    __table_args__ = (
        UniqueConstraint("summary_id", "integration_id", "target_id"),
        Index("ix_summary_publications_integration_id", "integration_id"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    summary_id: Mapped[UUID] = mapped_column(ForeignKey("summaries.id", ondelete="CASCADE"))
    integration_id: Mapped[UUID] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    target_id: Mapped[str] = mapped_column(String(500))
    remote_id: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(2000))
    published_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
