"""analytics: when a case began and was first answered, and its default enrichment's labels

Revision ID: d5b6f2e30c01
Revises: c4a5e1d20b05
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5b6f2e30c01"
down_revision: str | None = "c4a5e1d20b05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LABELS = ("sentiment", "severity", "category")


def upgrade() -> None:
    op.add_column("records", sa.Column("opened_at", sa.DateTime(timezone=True), server_default=sa.func.now()))
    op.add_column("records", sa.Column("first_response_at", sa.DateTime(timezone=True)))
    for label in LABELS:
        op.add_column("records", sa.Column(label, sa.String(100)))
    op.execute(
        "UPDATE records SET opened_at = coalesce(records.occurred_at, documents.created_at) "
        "FROM documents WHERE documents.id = records.document_id"
    )
    op.alter_column("records", "opened_at", nullable=False)
    # The constants above, not input: the statement is fixed.
    labels = ", ".join(
        f"{label} = CASE WHEN jsonb_typeof(e.data->'{label}') = 'string' THEN left(e.data->>'{label}', 100) END"
        for label in LABELS
    )
    op.execute(
        f"UPDATE records SET {labels} FROM enrichments e "  # noqa: S608
        "WHERE e.document_id = records.document_id AND e.schema_id = coalesce("
        "(SELECT s.id FROM enrichment_schemas s WHERE s.org_id = records.org_id AND s.is_default), "
        "(SELECT s.id FROM enrichment_schemas s WHERE s.org_id IS NULL AND s.is_default))"
    )
    op.create_index("ix_records_org_id_opened_at", "records", ["org_id", "opened_at"])
    op.create_index(
        "ix_records_org_id_resolved_at",
        "records",
        ["org_id", "resolved_at"],
        postgresql_where=sa.text("resolved_at IS NOT NULL"),
    )
    op.create_index(
        "ix_records_org_id_backlog",
        "records",
        ["org_id", "unit_id"],
        postgresql_include=["due_at"],
        postgresql_where=sa.text("case_status NOT IN ('resolved', 'closed')"),
    )


def downgrade() -> None:
    op.drop_index("ix_records_org_id_backlog", table_name="records")
    op.drop_index("ix_records_org_id_resolved_at", table_name="records")
    op.drop_index("ix_records_org_id_opened_at", table_name="records")
    for column in ("opened_at", "first_response_at", *LABELS):
        op.drop_column("records", column)
