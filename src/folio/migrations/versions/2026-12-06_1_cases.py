"""cases: business units, unit memberships, case numbers, priority, SLA, workflow, comments, saved views

Revision ID: c4a5e1d20b01
Revises: 9b2e4f7a1c38
Create Date: 2026-12-06 00:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c4a5e1d20b01"
down_revision: str | None = "9b2e4f7a1c38"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_ROLES = ("owner", "admin", "bu_manager", "supervisor", "editor", "viewer")
_OLD_ROLES = ("owner", "admin", "editor", "viewer")
_STATUSES = ("open", "in_progress", "waiting", "resolved", "closed")
_OLD_STATUSES = ("open", "in_progress", "resolved")


def _check(table: str, name: str, column: str, values: Sequence[str]) -> None:
    op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    listed = ", ".join(f"'{value}'" for value in values)
    op.create_check_constraint(name, table, f"{column} IN ({listed})")


def upgrade() -> None:
    _check("memberships", "role", "role", _ROLES)
    _check("invitations", "role", "role", _ROLES)
    _check("records", "case_status", "case_status", _STATUSES)
    op.add_column("organizations", sa.Column("case_numbers", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column(
        "organizations",
        sa.Column(
            "sla_hours", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
    )
    op.add_column("events", sa.Column("visibility", sa.String(length=16), server_default="org", nullable=False))
    op.add_column("events", sa.Column("unit_id", sa.Uuid(), nullable=True))
    op.add_column("events", sa.Column("recipient_id", sa.Uuid(), nullable=True))
    # A case's events are its history: the retention job keeps them, and reads the rest by a partial index.
    op.drop_index("ix_events_created_at", table_name="events")
    op.create_index(
        "ix_events_created_at",
        "events",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("type NOT LIKE 'case.%'"),
    )
    op.create_index("ix_events_subject_id_id", "events", ["subject_id", "id"], unique=False)
    op.create_index(
        "ix_events_org_id_id_org",
        "events",
        ["org_id", "id"],
        unique=False,
        postgresql_where=sa.text("visibility = 'org'"),
    )
    op.create_index(
        "ix_events_org_id_unit_id_id",
        "events",
        ["org_id", "unit_id", "id"],
        unique=False,
        postgresql_where=sa.text("visibility = 'unit'"),
    )
    op.create_table(
        "business_units",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=500), server_default="", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_business_units_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_units")),
    )
    op.create_index("uq_business_units_org_id_name", "business_units", ["org_id", sa.text("lower(name)")], unique=True)
    op.create_table(
        "unit_memberships",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id", "user_id"],
            ["memberships.org_id", "memberships.user_id"],
            name="fk_unit_memberships_org_id_user_id_memberships",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["business_units.id"],
            name=op.f("fk_unit_memberships_unit_id_business_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "user_id", "unit_id", name=op.f("pk_unit_memberships")),
    )
    op.create_index("ix_unit_memberships_unit_id", "unit_memberships", ["unit_id"], unique=False)
    # Existing cases are numbered in the order they were created; the organization's counter continues from there.
    op.add_column("records", sa.Column("number", sa.BigInteger(), nullable=True))
    op.execute(
        """
        UPDATE records SET number = numbered.number
        FROM (
            SELECT r.document_id, row_number() OVER (PARTITION BY r.org_id ORDER BY d.created_at, d.id) AS number
            FROM records r JOIN documents d ON d.id = r.document_id
        ) AS numbered
        WHERE numbered.document_id = records.document_id
        """
    )
    op.execute(
        "UPDATE organizations SET case_numbers = counts.n "
        "FROM (SELECT org_id, max(number) AS n FROM records GROUP BY org_id) AS counts "
        "WHERE counts.org_id = organizations.id"
    )
    op.alter_column("records", "number", nullable=False)
    op.add_column("records", sa.Column("unit_id", sa.Uuid(), nullable=True))
    op.add_column(
        "records",
        sa.Column(
            "priority",
            sa.Enum(
                "low",
                "normal",
                "high",
                "urgent",
                name="case_priority",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="normal",
            nullable=False,
        ),
    )
    op.add_column("records", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_records_unit_id_business_units"), "records", "business_units", ["unit_id"], ["id"], ondelete="SET NULL"
    )
    # The free-text unit of imported rows becomes metadata; units are now the organization's own, by id.
    op.execute(
        "UPDATE documents SET metadata = metadata || jsonb_build_object('business_unit', r.business_unit) "
        "FROM records r WHERE r.document_id = documents.id AND r.business_unit IS NOT NULL"
    )
    op.drop_column("records", "business_unit")
    op.create_index("uq_records_org_id_number", "records", ["org_id", "number"], unique=True)
    op.create_index(
        "ix_records_org_id_unit_id_case_status",
        "records",
        ["org_id", "unit_id", "case_status", "document_id"],
        unique=False,
    )
    op.create_index(
        "ix_records_org_id_due_at",
        "records",
        ["org_id", "due_at"],
        unique=False,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "case_comments",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.String(length=10000), nullable=False),
        sa.Column("mentions", postgresql.ARRAY(sa.Uuid()), server_default="{}", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_case_comments_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["records.document_id"], name=op.f("fk_case_comments_case_id_records"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_case_comments_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_comments")),
    )
    op.create_index("ix_case_comments_case_id_id", "case_comments", ["case_id", "id"], unique=False)
    op.create_table(
        "saved_views",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("shared", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_saved_views_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_saved_views_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
    )
    op.create_index("ix_saved_views_org_id_id", "saved_views", ["org_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_saved_views_org_id_id", table_name="saved_views")
    op.drop_table("saved_views")
    op.drop_index("ix_case_comments_case_id_id", table_name="case_comments")
    op.drop_table("case_comments")
    op.drop_index("ix_records_org_id_due_at", table_name="records", postgresql_where=sa.text("resolved_at IS NULL"))
    op.drop_index("ix_records_org_id_unit_id_case_status", table_name="records")
    op.drop_index("uq_records_org_id_number", table_name="records")
    op.add_column("records", sa.Column("business_unit", sa.String(length=200), nullable=True))
    op.execute(
        "UPDATE records SET business_unit = left(d.metadata ->> 'business_unit', 200) "
        "FROM documents d WHERE d.id = records.document_id"
    )
    op.drop_constraint(op.f("fk_records_unit_id_business_units"), "records", type_="foreignkey")
    op.drop_column("records", "due_at")
    op.drop_column("records", "priority")
    op.drop_column("records", "unit_id")
    op.drop_column("records", "number")
    op.drop_index("ix_unit_memberships_unit_id", table_name="unit_memberships")
    op.drop_table("unit_memberships")
    op.drop_index("uq_business_units_org_id_name", table_name="business_units")
    op.drop_table("business_units")
    op.drop_index("ix_events_org_id_unit_id_id", table_name="events", postgresql_where=sa.text("visibility = 'unit'"))
    op.drop_index("ix_events_org_id_id_org", table_name="events", postgresql_where=sa.text("visibility = 'org'"))
    op.drop_index("ix_events_subject_id_id", table_name="events")
    op.drop_index("ix_events_created_at", table_name="events", postgresql_where=sa.text("type NOT LIKE 'case.%'"))
    op.create_index("ix_events_created_at", "events", ["created_at"], unique=False)
    op.drop_column("events", "recipient_id")
    op.drop_column("events", "unit_id")
    op.drop_column("events", "visibility")
    op.drop_column("organizations", "sla_hours")
    op.drop_column("organizations", "case_numbers")
    op.execute("UPDATE records SET case_status = 'resolved' WHERE case_status = 'closed'")
    op.execute("UPDATE records SET case_status = 'in_progress' WHERE case_status = 'waiting'")
    _check("records", "case_status", "case_status", _OLD_STATUSES)
    op.execute("UPDATE memberships SET role = 'editor' WHERE role = 'bu_manager'")
    op.execute("UPDATE memberships SET role = 'editor' WHERE role = 'supervisor'")
    op.execute("DELETE FROM invitations WHERE role IN ('bu_manager', 'supervisor')")
    _check("memberships", "role", "role", _OLD_ROLES)
    _check("invitations", "role", "role", _OLD_ROLES)
