"""identity and plans: sign-in providers, identities, sign-in flows, SSO required per organization, plans

Revision ID: f7d8b4a50e01
Revises: e6c7a3f40d02
Create Date: 2026-12-09 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f7d8b4a50e01"
down_revision: str | None = "e6c7a3f40d02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: the deployment's default plan (`FOLIO_PLANS__DEFAULT`), whatever it is when the limits are checked.
    op.add_column("organizations", sa.Column("plan_type", sa.String(length=32), nullable=True))
    op.add_column("organizations", sa.Column("require_sso", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("users", sa.Column("auth_provider", sa.String(length=64), server_default="password", nullable=False))
    op.create_table(
        "user_identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_identities_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_identities")),
        sa.UniqueConstraint("issuer", "subject", name=op.f("uq_user_identities_issuer_subject")),
    )
    op.create_index("ix_user_identities_user_id", "user_identities", ["user_id"])
    op.create_table(
        "auth_flows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("nonce", sa.String(length=128), nullable=True),
        sa.Column("code_verifier", sa.String(length=128), nullable=True),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("return_to", sa.String(length=2000), nullable=True),
        sa.Column("data", sa.dialects.postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_auth_flows_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_auth_flows_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_flows")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_auth_flows_state_hash")),
    )
    op.create_index("ix_auth_flows_expires_at", "auth_flows", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_auth_flows_expires_at", table_name="auth_flows")
    op.drop_table("auth_flows")
    op.drop_index("ix_user_identities_user_id", table_name="user_identities")
    op.drop_table("user_identities")
    op.drop_column("users", "auth_provider")
    op.drop_column("organizations", "require_sso")
    op.drop_column("organizations", "plan_type")
