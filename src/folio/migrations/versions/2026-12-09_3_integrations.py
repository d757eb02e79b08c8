"""integrations: the sources an organization syncs documents from, their syncs, and what links a document to its item

Revision ID: f7d8b4a50e03
Revises: f7d8b4a50e02
Create Date: 2026-12-09 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "f7d8b4a50e03"
down_revision: str | None = "f7d8b4a50e02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("case_assigned", "mention", "share", "alert", "job_failed", "webhook_disabled", "pulse")
_NOTIFIED = ("notifications", "notification_preferences")


def _kinds(table: str, kinds: Sequence[str]) -> None:
    """The check of `notification_kind` on `table`, allowing `kinds`."""
    name = op.f(f"ck_{table}_notification_kind")
    op.drop_constraint(name, table, type_="check")
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    op.create_check_constraint(name, table, sa.text(f"kind IN ({listed})"))


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "notion",
                "confluence",
                "guru",
                "web",
                name="integration_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "config", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("credentials_encrypted", sa.Text(), nullable=True),
        sa.Column("auth_method", sa.String(length=16), server_default="token", nullable=False),
        sa.Column("sync_interval_minutes", sa.Integer(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "needs_reauth",
                "failing",
                name="integration_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="active",
            nullable=False,
        ),
        sa.Column("status_message", sa.String(length=500), nullable=True),
        sa.Column(
            "cursor", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_integrations_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_integrations_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_integrations_org_id_name")),
    )
    op.create_index(
        "ix_integrations_next_sync_at",
        "integrations",
        ["next_sync_at"],
        unique=False,
        postgresql_where=sa.text("enabled"),
    )
    op.create_index("ix_integrations_org_id_id", "integrations", ["org_id", "id"], unique=False)
    op.create_table(
        "integration_syncs",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "running",
                "succeeded",
                "failed",
                name="integration_sync_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="running",
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("listed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated", sa.Integer(), server_default="0", nullable=False),
        sa.Column("deleted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("failed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("requests", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=2000), nullable=True),
        sa.Column(
            "errors", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_integration_syncs_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_integration_syncs_job_id_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_integration_syncs_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_syncs")),
    )
    op.create_index(
        "ix_integration_syncs_integration_id_started_at",
        "integration_syncs",
        ["integration_id", "started_at"],
        unique=False,
    )
    op.add_column("documents", sa.Column("integration_id", sa.Uuid(), nullable=True))
    op.add_column("documents", sa.Column("external_id", sa.String(length=500), nullable=True))
    op.add_column("documents", sa.Column("external_version", sa.String(length=200), nullable=True))
    op.create_index(
        "ux_documents_integration_id_external_id",
        "documents",
        ["integration_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("integration_id IS NOT NULL"),
    )
    op.create_foreign_key(
        op.f("fk_documents_integration_id_integrations"),
        "documents",
        "integrations",
        ["integration_id"],
        ["id"],
        ondelete="SET NULL",
    )

    op.create_table(
        "summary_publications",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("summary_id", sa.Uuid(), nullable=False),
        sa.Column("integration_id", sa.Uuid(), nullable=False),
        sa.Column("target_id", sa.String(length=500), nullable=False),
        sa.Column("remote_id", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_summary_publications_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organizations.id"],
            name=op.f("fk_summary_publications_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["published_by"], ["users.id"], name=op.f("fk_summary_publications_published_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["summary_id"],
            ["summaries.id"],
            name=op.f("fk_summary_publications_summary_id_summaries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_publications")),
        sa.UniqueConstraint(
            "summary_id",
            "integration_id",
            "target_id",
            name=op.f("uq_summary_publications_summary_id_integration_id_target_id"),
        ),
    )
    op.create_index("ix_summary_publications_integration_id", "summary_publications", ["integration_id"])
    for table in _NOTIFIED:
        _kinds(table, (*_KINDS, "integration"))


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'integration'")
    op.execute("DELETE FROM notification_preferences WHERE kind = 'integration'")
    for table in _NOTIFIED:
        _kinds(table, _KINDS)
    op.drop_index("ix_summary_publications_integration_id", table_name="summary_publications")
    op.drop_table("summary_publications")
    op.drop_constraint(op.f("fk_documents_integration_id_integrations"), "documents", type_="foreignkey")
    op.drop_index(
        "ux_documents_integration_id_external_id",
        table_name="documents",
        postgresql_where=sa.text("integration_id IS NOT NULL"),
    )
    op.drop_column("documents", "external_version")
    op.drop_column("documents", "external_id")
    op.drop_column("documents", "integration_id")
    op.drop_index("ix_integration_syncs_integration_id_started_at", table_name="integration_syncs")
    op.drop_table("integration_syncs")
    op.drop_index("ix_integrations_org_id_id", table_name="integrations")
    op.drop_index("ix_integrations_next_sync_at", table_name="integrations", postgresql_where=sa.text("enabled"))
    op.drop_table("integrations")
