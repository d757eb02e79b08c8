"""interrupted chat turns: an assistant turn whose stream ended before its answer did is stored, and says so

Revision ID: 5b0e4c2a7d91
Revises: ea9d3a9a0d08
Create Date: 2026-12-12 01:00:00.000000

A column with a constant default: only the catalog changes, no row is rewritten.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b0e4c2a7d91"
down_revision: str | None = "ea9d3a9a0d08"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "chat_messages", sa.Column("interrupted", sa.Boolean(), server_default=sa.text("false"), nullable=False)
    )


def downgrade() -> None:
    op.drop_column("chat_messages", "interrupted")
