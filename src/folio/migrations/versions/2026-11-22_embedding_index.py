"""embedding_index: the embedding model the stored vectors come from

Revision ID: 13eafb7cacdd
Revises: d568ebd3e1bf
Create Date: 2026-11-22 01:46:08.241811
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "13eafb7cacdd"
down_revision: str | None = "d568ebd3e1bf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "embedding_index",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("dimension", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_embedding_index_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_embedding_index")),
    )


def downgrade() -> None:
    op.drop_table("embedding_index")
