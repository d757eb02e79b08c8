"""exports

Revision ID: d5b6f2e30c03
Revises: d5b6f2e30c02
Create Date: 2026-12-07 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d5b6f2e30c03"
down_revision: str | None = "d5b6f2e30c02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=16)


def _fk(column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_exports_{column}_{referred}"), ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column(
            "source", _enum("export_source", "cases", "documents", "summaries", "audit", "search"), nullable=False
        ),
        sa.Column("format", _enum("export_format", "csv", "jsonl", "xlsx", "md"), nullable=False),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("bom", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("units", postgresql.ARRAY(sa.Uuid()), nullable=True),
        sa.Column(
            "status",
            _enum("export_status", "queued", "running", "ready", "failed", "cancelled"),
            server_default="queued",
            nullable=False,
        ),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("storage_key", sa.String(length=128), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=2000), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _fk("org_id", "organizations.id", "CASCADE"),
        _fk("created_by", "users.id", "CASCADE"),
        _fk("api_key_id", "api_keys.id", "CASCADE"),
        _fk("job_id", "jobs.id", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exports")),
    )
    op.create_index("ix_exports_org_id_created_by_id", "exports", ["org_id", "created_by", "id"], unique=False)
    op.create_index("ix_exports_api_key_id_id", "exports", ["api_key_id", "id"], unique=False)
    op.create_index("ix_exports_expires_at", "exports", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_exports_expires_at", table_name="exports")
    op.drop_index("ix_exports_api_key_id_id", table_name="exports")
    op.drop_index("ix_exports_org_id_created_by_id", table_name="exports")
    op.drop_table("exports")
