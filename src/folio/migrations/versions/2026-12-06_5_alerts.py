"""alerts: rules, alerts, their matches

Revision ID: c4a5e1d20b05
Revises: c4a5e1d20b04
Create Date: 2026-12-06 04:00:00.000000
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects import postgresql

revision: str = "c4a5e1d20b05"
down_revision: str | None = "c4a5e1d20b04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("search", "condition", "spike")
_SEVERITIES = ("low", "medium", "high", "critical")
_STATUSES = ("open", "acknowledged", "resolved")


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete)


def _timestamp(name: str, *, nullable: bool = False, now: bool = False) -> sa.Column[datetime]:
    default = sa.text("now()") if now else None
    return sa.Column(name, sa.DateTime(timezone=True), server_default=default, nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("kind", _enum("alert_rule_kind", _KINDS), nullable=False),
        sa.Column("severity", _enum("alert_severity", _SEVERITIES), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("throttle_minutes", sa.Integer(), nullable=False),
        sa.Column("unit_ids", postgresql.ARRAY(sa.Uuid()), nullable=True),
        sa.Column("notify", postgresql.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("query_embedding", Vector(384), nullable=True),
        sa.Column("periodic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        _timestamp("checked_until", nullable=True),
        _timestamp("updated_at", now=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        _timestamp("created_at", now=True),
        _fk("alert_rules", "org_id", "organizations.id"),
        _fk("alert_rules", "created_by", "users.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
    )
    op.create_index("ix_alert_rules_org_id_id", "alert_rules", ["org_id", "id"], unique=False)
    op.create_index(
        "ix_alert_rules_periodic",
        "alert_rules",
        ["org_id"],
        unique=False,
        postgresql_where=sa.text("enabled AND periodic"),
    )
    op.create_table(
        "alerts",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("rule_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("subject_key", sa.String(length=100), server_default="", nullable=False),
        sa.Column("kind", _enum("alert_rule_kind", _KINDS), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("severity", _enum("alert_severity", _SEVERITIES), nullable=False),
        sa.Column("status", _enum("alert_status", _STATUSES), server_default="open", nullable=False),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        _timestamp("window_start"),
        _timestamp("window_end"),
        _timestamp("last_matched_at"),
        _timestamp("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by", sa.Uuid(), nullable=True),
        _timestamp("resolved_at", nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        _timestamp("updated_at", now=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        _timestamp("created_at", now=True),
        _fk("alerts", "org_id", "organizations.id"),
        _fk("alerts", "rule_id", "alert_rules.id"),
        _fk("alerts", "unit_id", "business_units.id"),
        _fk("alerts", "acknowledged_by", "users.id", "SET NULL"),
        _fk("alerts", "resolved_by", "users.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(
        "uq_alerts_rule_id_unit_id_subject_key_window_start",
        "alerts",
        ["rule_id", "unit_id", "subject_key", "window_start"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index("ix_alerts_org_id_id", "alerts", ["org_id", "id"], unique=False)
    op.create_table(
        "alert_matches",
        sa.Column("alert_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        _timestamp("matched_at", now=True),
        _fk("alert_matches", "alert_id", "alerts.id"),
        _fk("alert_matches", "document_id", "documents.id"),
        _fk("alert_matches", "org_id", "organizations.id"),
        sa.PrimaryKeyConstraint("alert_id", "document_id", name=op.f("pk_alert_matches")),
    )
    op.create_index("ix_alert_matches_document_id", "alert_matches", ["document_id"], unique=False)


def downgrade() -> None:
    op.drop_table("alert_matches")
    op.drop_table("alerts")
    op.drop_table("alert_rules")
