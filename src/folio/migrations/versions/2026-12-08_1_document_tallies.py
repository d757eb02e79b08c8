"""document tallies: an organization's documents by unit, kind and status, kept by triggers

Revision ID: e6c7a3f40d01
Revises: d5b6f2e30c04
Create Date: 2026-12-08 01:00:00.000000
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e6c7a3f40d01"
down_revision: str | None = "d5b6f2e30c04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every trigger appends changes (never updates a row), so that writers never wait for each other on a counter;
# `compact_document_tallies()` folds them. A case's unit is its record's, read FOR SHARE: a document's change waits
# for a move of its case to another unit to commit (and then counts in the new unit), and a move reads the
# document's last committed state, so the two cannot count the document twice or in the wrong unit.
_FUNCTIONS = """
CREATE FUNCTION document_tallies_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_tallies (org_id, unit_id, kind, status, documents, chunks, bytes)
    SELECT n.org_id, r.unit_id, n.kind, n.status, count(*), coalesce(sum(n.chunk_count), 0), sum(n.size_bytes)
    FROM added n LEFT JOIN records r ON r.document_id = n.id
    GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

CREATE FUNCTION document_tallies_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH moved AS (
        SELECT n.id, o.org_id, o.kind AS old_kind, o.status AS old_status, coalesce(o.chunk_count, 0) AS old_chunks,
            o.size_bytes AS old_bytes, n.kind, n.status, coalesce(n.chunk_count, 0) AS chunks, n.size_bytes AS bytes
        FROM before o JOIN after n ON n.id = o.id
        WHERE (o.kind, o.status, o.chunk_count, o.size_bytes) IS DISTINCT FROM (n.kind, n.status, n.chunk_count,
            n.size_bytes)
    ), units AS (
        SELECT m.*, (SELECT r.unit_id FROM records r WHERE r.document_id = m.id FOR SHARE) AS unit_id FROM moved m
    )
    INSERT INTO document_tallies (org_id, unit_id, kind, status, documents, chunks, bytes)
    SELECT org_id, unit_id, kind, status, sum(documents), sum(chunks), sum(bytes)
    FROM (
        SELECT org_id, unit_id, old_kind AS kind, old_status AS status, -1 AS documents, -old_chunks AS chunks,
            -old_bytes AS bytes
        FROM units
        UNION ALL
        SELECT org_id, unit_id, kind, status, 1, chunks, bytes FROM units
    ) AS changes
    GROUP BY 1, 2, 3, 4
    HAVING sum(documents) <> 0 OR sum(chunks) <> 0 OR sum(bytes) <> 0;
    RETURN NULL;
END $$;

-- Row by row and before the deletion, while the deleted case's record (deleted with it) still tells its unit.
CREATE FUNCTION document_tallies_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_tallies (org_id, unit_id, kind, status, documents, chunks, bytes)
    VALUES (OLD.org_id, (SELECT r.unit_id FROM records r WHERE r.document_id = OLD.id FOR SHARE), OLD.kind,
        OLD.status, -1, -coalesce(OLD.chunk_count, 0), -OLD.size_bytes);
    RETURN OLD;
END $$;

-- A case's document counts in its record's unit: in none until the record exists, nor once it is gone.
CREATE FUNCTION document_tallies_case_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_tallies (org_id, unit_id, kind, status, documents, chunks, bytes)
    SELECT d.org_id, m.unit_id, d.kind, d.status, sum(m.sign), sum(m.sign * coalesce(d.chunk_count, 0)),
        sum(m.sign * d.size_bytes)
    FROM (
        SELECT document_id, unit_id, 1 AS sign FROM after WHERE unit_id IS NOT NULL
        UNION ALL
        SELECT document_id, NULL, -1 FROM after WHERE unit_id IS NOT NULL
    ) AS m
    JOIN documents d ON d.id = m.document_id
    GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

CREATE FUNCTION document_tallies_case_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_tallies (org_id, unit_id, kind, status, documents, chunks, bytes)
    SELECT d.org_id, m.unit_id, d.kind, d.status, sum(m.sign), sum(m.sign * coalesce(d.chunk_count, 0)),
        sum(m.sign * d.size_bytes)
    FROM (
        SELECT o.document_id, o.unit_id, -1 AS sign
        FROM before o JOIN after n ON n.document_id = o.document_id
        WHERE n.unit_id IS DISTINCT FROM o.unit_id
        UNION ALL
        SELECT n.document_id, n.unit_id, 1
        FROM before o JOIN after n ON n.document_id = o.document_id
        WHERE n.unit_id IS DISTINCT FROM o.unit_id
    ) AS m
    JOIN documents d ON d.id = m.document_id
    GROUP BY 1, 2, 3, 4
    HAVING sum(m.sign) <> 0;
    RETURN NULL;
END $$;

-- A document deleted in the same statement (a case's deletion cascades to its record) is not seen here: its own
-- trigger took it out of the record's unit.
CREATE FUNCTION document_tallies_case_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO document_tallies (org_id, unit_id, kind, status, documents, chunks, bytes)
    SELECT d.org_id, m.unit_id, d.kind, d.status, sum(m.sign), sum(m.sign * coalesce(d.chunk_count, 0)),
        sum(m.sign * d.size_bytes)
    FROM (
        SELECT document_id, unit_id, -1 AS sign FROM before WHERE unit_id IS NOT NULL
        UNION ALL
        SELECT document_id, NULL, 1 FROM before WHERE unit_id IS NOT NULL
    ) AS m
    JOIN documents d ON d.id = m.document_id
    GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

-- Fold each organization's changes into one row per unit, kind and status (none for what sums to nothing).
-- Changes committed while it runs are not in its snapshot, so not deleted: they are folded the next time.
CREATE FUNCTION compact_document_tallies() RETURNS bigint LANGUAGE sql AS $$
    WITH folded AS (DELETE FROM document_tallies RETURNING *), kept AS (
        INSERT INTO document_tallies (org_id, unit_id, kind, status, documents, chunks, bytes)
        SELECT org_id, unit_id, kind, status, sum(documents), sum(chunks), sum(bytes)
        FROM folded
        GROUP BY 1, 2, 3, 4
        HAVING sum(documents) <> 0 OR sum(chunks) <> 0 OR sum(bytes) <> 0
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM folded) - (SELECT count(*) FROM kept)
$$;

-- The tallies of every document, counted afresh (after a bulk load that bypassed the triggers).
CREATE FUNCTION rebuild_document_tallies() RETURNS void LANGUAGE sql AS $$
    DELETE FROM document_tallies;
    INSERT INTO document_tallies (org_id, unit_id, kind, status, documents, chunks, bytes)
    SELECT d.org_id, r.unit_id, d.kind, d.status, count(*), coalesce(sum(d.chunk_count), 0), sum(d.size_bytes)
    FROM documents d LEFT JOIN records r ON r.document_id = d.id
    GROUP BY 1, 2, 3, 4;
$$;
"""
_TRIGGERS = """
CREATE TRIGGER documents_tallies_added AFTER INSERT ON documents
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION document_tallies_added();
CREATE TRIGGER documents_tallies_changed AFTER UPDATE ON documents
    REFERENCING OLD TABLE AS before NEW TABLE AS after FOR EACH STATEMENT EXECUTE FUNCTION document_tallies_changed();
CREATE TRIGGER documents_tallies_removed BEFORE DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION document_tallies_removed();
CREATE TRIGGER records_document_tallies_added AFTER INSERT ON records
    REFERENCING NEW TABLE AS after FOR EACH STATEMENT EXECUTE FUNCTION document_tallies_case_added();
CREATE TRIGGER records_document_tallies_changed AFTER UPDATE ON records
    REFERENCING OLD TABLE AS before NEW TABLE AS after
    FOR EACH STATEMENT EXECUTE FUNCTION document_tallies_case_moved();
CREATE TRIGGER records_document_tallies_removed AFTER DELETE ON records
    REFERENCING OLD TABLE AS before FOR EACH STATEMENT EXECUTE FUNCTION document_tallies_case_removed();
"""
_DROPPED = (
    ("records", "records_document_tallies_removed"),
    ("records", "records_document_tallies_changed"),
    ("records", "records_document_tallies_added"),
    ("documents", "documents_tallies_removed"),
    ("documents", "documents_tallies_changed"),
    ("documents", "documents_tallies_added"),
)
_FUNCTION_NAMES = (
    "rebuild_document_tallies()",
    "compact_document_tallies()",
    "document_tallies_case_removed()",
    "document_tallies_case_moved()",
    "document_tallies_case_added()",
    "document_tallies_removed()",
    "document_tallies_changed()",
    "document_tallies_added()",
)


def upgrade() -> None:
    op.create_table(
        "document_tallies",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("documents", sa.BigInteger(), nullable=False),
        sa.Column("chunks", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_tallies")),
    )
    op.create_index(
        "ix_document_tallies_org_id",
        "document_tallies",
        ["org_id", "unit_id", "kind", "status"],
        postgresql_include=["documents", "chunks", "bytes"],
    )
    # One statement per execution (a prepared statement holds one): functions start at their comments.
    for function in re.split(r"\n(?=(?:--[^\n]*\n)*CREATE FUNCTION)", _FUNCTIONS.strip()):
        op.execute(function)
    for trigger in _TRIGGERS.strip().split(";\n"):
        op.execute(trigger)
    op.execute("SELECT rebuild_document_tallies()")


def downgrade() -> None:
    for table, trigger in _DROPPED:
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    for function in _FUNCTION_NAMES:
        op.execute(f"DROP FUNCTION {function}")
    op.drop_index("ix_document_tallies_org_id", table_name="document_tallies")
    op.drop_table("document_tallies")
