"""exports

Revision ID: d5b6f2e30c03
Revises: d5b6f2e30c02
Create Date: 2026-12-07 03:00:00.000000
"""

from collections.abc import Sequence

revision: str = "d5b6f2e30c03"
down_revision: str | None = "d5b6f2e30c02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
