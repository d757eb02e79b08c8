"""languages: each chunk is indexed with its document's text search configuration, documents record their language

Revision ID: ea9d3a9a0d08
Revises: c1a7e0f2d418
Create Date: 2026-12-11 01:00:00.000000

`chunks.search_vector` stops being generated with `english` for every chunk: a trigger builds it with the chunk's
own `search_config` from `search_text` (the text with Chinese, Japanese and Korean runs as pairs of characters),
or from `text` where that is null. The column keeps its values, so the chunks already indexed stay English, as
they were built, and `search_config` says so; `documents.language` stays null for them (not detected) until they
are reindexed. Nothing is rewritten: dropping the expression and adding columns with a constant default only
change the catalog. The one cost is the index on (org_id, search_config) that replaces the one on org_id: search
walks it to learn which configurations an organization's chunks use.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ea9d3a9a0d08"
down_revision: str | None = "c1a7e0f2d418"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A configuration this server lacks (an older PostgreSQL has no `catalan`) becomes `simple`, and the row says so:
# queries are analysed with the configurations the rows name.
_SEARCH_VECTOR = """
    CREATE FUNCTION chunks_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (
            SELECT FROM pg_catalog.pg_ts_config
            WHERE cfgname = NEW.search_config AND pg_catalog.pg_ts_config_is_visible(oid)
        ) THEN
            NEW.search_config := 'simple';
        END IF;
        NEW.search_vector := to_tsvector(CAST(NEW.search_config AS regconfig), coalesce(NEW.search_text, NEW.text));
        RETURN NEW;
    END
    $$
"""
_TRIGGER = """
    CREATE TRIGGER chunks_search_vector BEFORE INSERT OR UPDATE OF text, search_config, search_text ON chunks
    FOR EACH ROW EXECUTE FUNCTION chunks_search_vector()
"""
# Back to English for every chunk: the BM25 statistics are counted again from the live chunks. (Trending's daily
# counts keep the lexemes of other languages' cases until those cases change.)
_RECOUNT_TERMS = """
    INSERT INTO search_terms (org_id, lexeme, chunks)
    SELECT c.org_id, t.lexeme, count(*)
    FROM chunks c JOIN documents d ON d.id = c.document_id AND d.version = c.version, unnest(c.search_vector) t
    GROUP BY c.org_id, t.lexeme
"""


def upgrade() -> None:
    op.add_column("documents", sa.Column("language", sa.String(length=16), nullable=True))
    op.add_column("chunks", sa.Column("search_config", sa.String(length=32), server_default="english", nullable=False))
    op.add_column("chunks", sa.Column("search_text", sa.Text(), nullable=True))
    op.execute("ALTER TABLE chunks ALTER COLUMN search_vector DROP EXPRESSION")
    op.execute(_SEARCH_VECTOR)
    op.execute(_TRIGGER)
    op.drop_index("ix_chunks_org_id", table_name="chunks")
    op.create_index("ix_chunks_org_id_search_config", "chunks", ["org_id", "search_config"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_chunks_org_id_search_config", table_name="chunks")
    op.create_index("ix_chunks_org_id", "chunks", ["org_id"], unique=False)
    op.execute("DROP TRIGGER chunks_search_vector ON chunks")
    op.execute("DROP FUNCTION chunks_search_vector()")
    op.drop_index("ix_chunks_search_vector", table_name="chunks", postgresql_using="gin")
    op.drop_column("chunks", "search_vector")
    op.execute(
        "ALTER TABLE chunks ADD COLUMN search_vector tsvector NOT NULL "
        "GENERATED ALWAYS AS (to_tsvector('english', text)) STORED"
    )
    op.create_index("ix_chunks_search_vector", "chunks", ["search_vector"], unique=False, postgresql_using="gin")
    op.execute("DELETE FROM search_terms")
    op.execute(_RECOUNT_TERMS)
    op.drop_column("chunks", "search_text")
    op.drop_column("chunks", "search_config")
    op.drop_column("documents", "language")
