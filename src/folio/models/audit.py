from __future__ import annotations

from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from sqlalchemy import BigInteger, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, text_enum

# Entries younger than this cannot be deleted, whatever FOLIO_AUDIT__RETENTION_DAYS says: the database refuses it
# (the migration's trigger holds the same number).
UNDELETABLE_DAYS: Final = 30


class AuditActorType(StrEnum):
    """Who did it: a member, an API key, someone with no credential over HTTP (a failed login, a share link's
    visitor), or the deployment itself (the command line, a periodic job)."""

    USER = "user"
    API_KEY = "api_key"
    ANONYMOUS = "anonymous"
    SYSTEM = "system"


class AuditEntry(CreatedAtMixin, Base):
    """One security-relevant event of an organization. Append-only: triggers refuse UPDATE, TRUNCATE, and DELETE
    of an entry younger than UNDELETABLE_DAYS, to the application's own database role too; `created_at` is set by
    the database on insert, so no entry can be written as older than it is.

    No foreign keys: an entry outlives the user, API key or organization it names (deleting them would otherwise
    have to rewrite or delete it). `actor_email` keeps who the user was; retention deletes entries of any
    organization alike.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_org_id_id", "org_id", "id"),
        Index("ix_audit_log_org_id_actor_user_id_id", "org_id", "actor_user_id", "id"),
        Index("ix_audit_log_org_id_target_id_id", "org_id", "target_type", "target_id", "id"),
        Index("ix_audit_log_created_at", "created_at"),
    )

    # Ordered by insertion: the API pages by it, newest first.
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org_id: Mapped[UUID]
    action: Mapped[str] = mapped_column(String(64))
    actor_type: Mapped[AuditActorType] = mapped_column(text_enum(AuditActorType, "audit_actor_type"))
    actor_user_id: Mapped[UUID | None]
    actor_api_key_id: Mapped[UUID | None]
    actor_email: Mapped[str | None] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(256))
    request_id: Mapped[str | None] = mapped_column(String(128))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    # Bounded by `folio.audit.service`; never a secret, a password or a token.
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
