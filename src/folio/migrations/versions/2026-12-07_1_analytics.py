"""analytics

Revision ID: d5b6f2e30c01
Revises: c4a5e1d20b05
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

revision: str = "d5b6f2e30c01"
down_revision: str | None = "c4a5e1d20b05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
