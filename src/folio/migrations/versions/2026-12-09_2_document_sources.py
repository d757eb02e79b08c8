"""document sources: where a document came from (an upload, a web page) and when the source last changed

Revision ID: f7d8b4a50e02
Revises: f7d8b4a50e01
Create Date: 2026-12-09 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f7d8b4a50e02"
down_revision: str | None = "f7d8b4a50e01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("source_type", sa.String(length=32), server_default="upload", nullable=False))
    op.add_column("documents", sa.Column("source_url", sa.String(length=2000), nullable=True))
    op.add_column("documents", sa.Column("external_last_updated", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE documents SET source_type = 'record' WHERE kind = 'record'")


def downgrade() -> None:
    for column in ("external_last_updated", "source_url", "source_type"):
        op.drop_column("documents", column)
