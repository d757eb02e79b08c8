"""search: BM25 statistics per organization and the search log

Revision ID: 734939806e33
Revises: 13eafb7cacdd
Create Date: 2026-11-22 04:07:29.500866
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "734939806e33"
down_revision: str | None = "13eafb7cacdd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_corpora",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("chunks", sa.BigInteger(), nullable=False),
        sa.Column("tokens", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_search_corpora_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_search_corpora")),
    )
    op.create_table(
        "search_terms",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("lexeme", sa.Text(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_search_terms_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "lexeme", name=op.f("pk_search_terms")),
    )
    op.create_table(
        "search_queries",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("api_key_id", sa.Uuid(), nullable=True),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("filters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("top_k", sa.SmallInteger(), nullable=False),
        sa.Column("hit_count", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=16), server_default="search", nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_search_queries_api_key_id_api_keys"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_search_queries_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_search_queries_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_queries")),
    )
    op.create_index("ix_search_queries_org_id_id", "search_queries", ["org_id", "id"], unique=False)
    # Statistics of the chunks that are live already.
    op.execute(
        """
        INSERT INTO search_terms (org_id, lexeme, chunks)
        SELECT c.org_id, t.lexeme, count(*)
        FROM chunks c JOIN documents d ON d.id = c.document_id AND d.version = c.version, unnest(c.search_vector) t
        GROUP BY c.org_id, t.lexeme
        """
    )
    op.execute(
        """
        INSERT INTO search_corpora (org_id, chunks, tokens)
        SELECT c.org_id, count(*), sum(c.token_count)
        FROM chunks c JOIN documents d ON d.id = c.document_id AND d.version = c.version
        GROUP BY c.org_id
        """
    )


def downgrade() -> None:
    op.drop_index("ix_search_queries_org_id_id", table_name="search_queries")
    op.drop_table("search_queries")
    op.drop_table("search_terms")
    op.drop_table("search_corpora")
