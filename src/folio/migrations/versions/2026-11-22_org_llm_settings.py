"""org_llm_settings: an organization's own language model, its API key encrypted

Revision ID: b5674cc7975b
Revises: 734939806e33
Create Date: 2026-11-22 04:17:19.290598
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b5674cc7975b"
down_revision: str | None = "734939806e33"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "org_llm_settings",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column(
            "provider",
            sa.Enum("extractive", "openai", name="llm_provider", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column("base_url", sa.String(length=2000), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_org_llm_settings_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_org_llm_settings_updated_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_org_llm_settings")),
    )


def downgrade() -> None:
    op.drop_table("org_llm_settings")
