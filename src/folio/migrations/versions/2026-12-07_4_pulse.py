"""pulse

Revision ID: d5b6f2e30c04
Revises: d5b6f2e30c03
Create Date: 2026-12-07 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5b6f2e30c04"
down_revision: str | None = "d5b6f2e30c03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = ("case_assigned", "mention", "share", "alert", "job_failed", "webhook_disabled")
_NOTIFIED = ("notifications", "notification_preferences")


def _kinds(table: str, kinds: Sequence[str]) -> None:
    """The check of `notification_kind` on `table`, allowing `kinds`."""
    name = op.f(f"ck_{table}_notification_kind")
    op.drop_constraint(name, table, type_="check")
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    op.create_check_constraint(name, table, sa.text(f"kind IN ({listed})"))


def upgrade() -> None:
    op.create_table(
        "pulse_digests",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("generated_by", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_pulse_digests_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pulse_digests")),
        sa.UniqueConstraint("org_id", "period_start", name=op.f("uq_pulse_digests_org_id_period_start")),
    )
    for table in _NOTIFIED:
        _kinds(table, (*_KINDS, "pulse"))


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM notifications WHERE kind = 'pulse'"))
    op.execute(sa.text("DELETE FROM notification_preferences WHERE kind = 'pulse'"))
    for table in _NOTIFIED:
        _kinds(table, _KINDS)
    op.drop_table("pulse_digests")
