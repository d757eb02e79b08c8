"""jobs.lease_id: the fencing token of the attempt that holds a job

Revision ID: 8d41c2b7e9a0
Revises: 5c0a1e2f7d31
Create Date: 2026-11-22 08:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d41c2b7e9a0"
down_revision: str | None = "5c0a1e2f7d31"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("lease_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    op.drop_column("jobs", "lease_id")
