"""shares: shares with members and public links

Revision ID: c4a5e1d20b04
Revises: c4a5e1d20b03
Create Date: 2026-12-06 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a5e1d20b04"
down_revision: str | None = "c4a5e1d20b03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OUTCOMES = ("ok", "expired", "revoked", "needs_password", "wrong_password", "locked", "unavailable")


def _fk(table: str, column: str, target: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=op.f(f"fk_{table}_{column}_{referred}"), ondelete=ondelete)


def upgrade() -> None:
    op.create_table(
        "shares",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("summary_id", sa.Uuid(), nullable=True),
        sa.Column("chat_id", sa.Uuid(), nullable=True),
        sa.Column("saved_view_id", sa.Uuid(), nullable=True),
        sa.Column("item_title", sa.String(length=500), nullable=False),
        sa.Column("note", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "num_nonnulls(record_id, document_id, summary_id, chat_id, saved_view_id) = 1",
            name=op.f("ck_shares_one_item"),
        ),
        _fk("shares", "org_id", "organizations.id"),
        _fk("shares", "created_by", "users.id"),
        _fk("shares", "record_id", "records.document_id"),
        _fk("shares", "document_id", "documents.id"),
        _fk("shares", "summary_id", "summaries.id"),
        _fk("shares", "chat_id", "chats.id"),
        _fk("shares", "saved_view_id", "saved_views.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shares")),
    )
    op.create_index("ix_shares_org_id_id", "shares", ["org_id", "id"], unique=False)
    op.create_index("ix_shares_created_by_id", "shares", ["created_by", "id"], unique=False)
    for column in ("record_id", "document_id", "summary_id", "chat_id", "saved_view_id"):
        op.create_index(f"ix_shares_{column}", "shares", [column], unique=False)
    op.create_table(
        "share_recipients",
        sa.Column("share_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        _fk("share_recipients", "share_id", "shares.id"),
        _fk("share_recipients", "user_id", "users.id"),
        _fk("share_recipients", "org_id", "organizations.id"),
        sa.PrimaryKeyConstraint("share_id", "user_id", name=op.f("pk_share_recipients")),
    )
    op.create_index("ix_share_recipients_user_id_share_id", "share_recipients", ["user_id", "share_id"], unique=False)
    op.create_table(
        "share_links",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("summary_id", sa.Uuid(), nullable=True),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("num_nonnulls(document_id, summary_id) = 1", name=op.f("ck_share_links_one_item")),
        _fk("share_links", "org_id", "organizations.id"),
        _fk("share_links", "created_by", "users.id", ondelete="SET NULL"),
        _fk("share_links", "document_id", "documents.id"),
        _fk("share_links", "summary_id", "summaries.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_links")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_share_links_token_digest")),
    )
    op.create_index("ix_share_links_org_id_id", "share_links", ["org_id", "id"], unique=False)
    op.create_index("ix_share_links_document_id", "share_links", ["document_id"], unique=False)
    op.create_index("ix_share_links_summary_id", "share_links", ["summary_id"], unique=False)
    op.create_table(
        "share_link_accesses",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("link_id", sa.Uuid(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(*_OUTCOMES, name="share_link_access_outcome", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column("download", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _fk("share_link_accesses", "org_id", "organizations.id"),
        _fk("share_link_accesses", "link_id", "share_links.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_link_accesses")),
    )
    op.create_index("ix_share_link_accesses_link_id_id", "share_link_accesses", ["link_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_share_link_accesses_link_id_id", table_name="share_link_accesses")
    op.drop_table("share_link_accesses")
    op.drop_index("ix_share_links_summary_id", table_name="share_links")
    op.drop_index("ix_share_links_document_id", table_name="share_links")
    op.drop_index("ix_share_links_org_id_id", table_name="share_links")
    op.drop_table("share_links")
    op.drop_index("ix_share_recipients_user_id_share_id", table_name="share_recipients")
    op.drop_table("share_recipients")
    for column in ("saved_view_id", "chat_id", "summary_id", "document_id", "record_id"):
        op.drop_index(f"ix_shares_{column}", table_name="shares")
    op.drop_index("ix_shares_created_by_id", table_name="shares")
    op.drop_index("ix_shares_org_id_id", table_name="shares")
    op.drop_table("shares")
