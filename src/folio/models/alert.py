from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from pgvector.sqlalchemy import Vector
from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin, text_enum
from folio.models.chunk import EMBEDDING_DIMENSION


class AlertRuleKind(StrEnum):
    SEARCH = "search"
    CONDITION = "condition"
    SPIKE = "spike"


class AlertSeverity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertRule(IdMixin, CreatedAtMixin, Base):
    """What raises alerts: a saved search, a condition on cases, or a spike detector (`definition`, by `kind`)."""

    __tablename__ = "alert_rules"
    __table_args__ = (
        Index("ix_alert_rules_org_id_id", "org_id", "id"),
        # The periodic evaluation's look for organizations with spike or SLA rules.
        Index("ix_alert_rules_periodic", "org_id", postgresql_where=text("enabled AND periodic")),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    kind: Mapped[AlertRuleKind] = mapped_column(text_enum(AlertRuleKind, "alert_rule_kind"))
    severity: Mapped[AlertSeverity] = mapped_column(text_enum(AlertSeverity, "alert_severity"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    throttle_minutes: Mapped[int] = mapped_column(Integer)
    # The business units whose cases it watches; None: every case and document of the organization.
    unit_ids: Mapped[list[UUID] | None] = mapped_column(ARRAY(Uuid))
    # Members its alerts notify; empty: the supervisors and above who see the alert's unit.
    notify: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid), default=list, server_default="{}")
    # The kind's own settings as the API validated them (`folio.alerts.schemas`).
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # A search rule's query, embedded once when the rule is saved: evaluation never calls the model.
    query_embedding: Mapped[list[float] | None] = mapped_column(Vector(EMBEDDING_DIMENSION))
    # Evaluated by the periodic job too: spike rules, and conditions on `sla_breached` (time breaches an SLA).
    periodic: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # SLA conditions: cases whose due time passed up to here have been looked at.
    checked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Alert(IdMixin, CreatedAtMixin, Base):
    """What a rule raised about one business unit (its subject) in one throttle window: later matches of the window
    join it (`count`) instead of raising another."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_rule_id_unit_id_subject_key_window_start",
            "rule_id",
            "unit_id",
            "subject_key",
            "window_start",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_alerts_org_id_id", "org_id", "id"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    rule_id: Mapped[UUID] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    # The unit of the cases it is about (None: cases of no unit, and documents): only members who see it see it.
    unit_id: Mapped[UUID | None] = mapped_column(ForeignKey("business_units.id", ondelete="CASCADE"))
    # What a spike rule grouped by within the unit (a category); empty for other rules.
    subject_key: Mapped[str] = mapped_column(String(100), default="", server_default="")
    kind: Mapped[AlertRuleKind] = mapped_column(text_enum(AlertRuleKind, "alert_rule_kind"))
    title: Mapped[str] = mapped_column(String(300))
    severity: Mapped[AlertSeverity] = mapped_column(text_enum(AlertSeverity, "alert_severity"))
    status: Mapped[AlertStatus] = mapped_column(
        text_enum(AlertStatus, "alert_status"), default=AlertStatus.OPEN, server_default=AlertStatus.OPEN.value
    )
    # Matches (distinct cases and documents) in the window.
    count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A spike's statistic when it last fired: the window's count, the baseline mean, the tail probability.
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    last_matched_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class AlertMatch(Base):
    """A case or document an alert is about: one row per item, however often it matched in the window."""

    __tablename__ = "alert_matches"
    __table_args__ = (Index("ix_alert_matches_document_id", "document_id"),)

    alert_id: Mapped[UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    # A search rule's: the cosine similarity of the item's closest chunk to the query.
    score: Mapped[float | None] = mapped_column(Float)
    matched_at: Mapped[datetime] = mapped_column(server_default=func.now())
