"""search analytics: the search log's normalised queries; trending's daily counts of cases by lexeme

Revision ID: d5b6f2e30c02
Revises: d5b6f2e30c01
Create Date: 2026-12-07 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from folio.search.query_text import normalized_query

revision: str = "d5b6f2e30c02"
down_revision: str | None = "d5b6f2e30c01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_ROWS = 5000

# Which lexemes trending counts: words, not numbers (`2026`, `12.50`), e-mail addresses or paths (people's and
# systems' identifiers), nor lexemes too short to mean much or so long they are codes.
_IS_CASE_TERM = """
    CREATE FUNCTION is_case_term(lexeme text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN char_length(lexeme) BETWEEN 3 AND 32
        AND lexeme !~ '^[[:digit:][:punct:]]+$'
        AND strpos(lexeme, '@') = 0
        AND left(lexeme, 1) <> '/'
"""

# A case that moves to another unit, or whose opening moves to another day, takes its live version's lexemes along.
# An organization being deleted is skipped: its rows are going, and a new one could not reference it.
_FOLLOW_CASE = """
    CREATE FUNCTION case_terms_follow_case() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        old_day date := CAST(OLD.opened_at AT TIME ZONE 'UTC' AS date);
        new_day date := CAST(NEW.opened_at AT TIME ZONE 'UTC' AS date);
        lexemes text[];
    BEGIN
        IF OLD.unit_id IS NOT DISTINCT FROM NEW.unit_id AND old_day = new_day THEN
            RETURN NULL;
        END IF;
        IF NOT EXISTS (SELECT FROM organizations WHERE id = NEW.org_id) THEN
            RETURN NULL;
        END IF;
        SELECT array_agg(DISTINCT t.lexeme ORDER BY t.lexeme) INTO lexemes
        FROM documents d
        JOIN chunks c ON c.document_id = d.id AND c.version = d.version,
        unnest(tsvector_to_array(c.search_vector)) AS t(lexeme)
        WHERE d.id = NEW.document_id AND is_case_term(t.lexeme);
        IF lexemes IS NULL THEN
            RETURN NULL;
        END IF;
        IF old_day <> new_day THEN
            INSERT INTO case_terms AS t (org_id, day, lexeme, cases, example)
            SELECT NEW.org_id, m.day, l.lexeme, m.sign, NEW.document_id
            FROM (VALUES (old_day, -1), (new_day, 1)) AS m(day, sign), unnest(lexemes) AS l(lexeme)
            ORDER BY m.day, l.lexeme
            ON CONFLICT (org_id, day, lexeme) DO UPDATE
            SET cases = t.cases + excluded.cases,
                example = CASE WHEN excluded.cases > 0 THEN excluded.example ELSE t.example END;
            DELETE FROM case_terms
            WHERE org_id = NEW.org_id AND day = old_day AND lexeme = ANY(lexemes) AND cases <= 0;
        END IF;
        INSERT INTO case_unit_terms AS t (org_id, unit_id, day, lexeme, cases, example)
        SELECT NEW.org_id, m.unit_id, m.day, l.lexeme, m.sign, NEW.document_id
        FROM (VALUES (OLD.unit_id, old_day, -1), (NEW.unit_id, new_day, 1)) AS m(unit_id, day, sign),
        unnest(lexemes) AS l(lexeme)
        WHERE m.unit_id IS NOT NULL
        ORDER BY m.unit_id, m.day, l.lexeme
        ON CONFLICT (org_id, unit_id, day, lexeme) DO UPDATE
        SET cases = t.cases + excluded.cases,
            example = CASE WHEN excluded.cases > 0 THEN excluded.example ELSE t.example END;
        DELETE FROM case_unit_terms
        WHERE org_id = NEW.org_id AND unit_id = OLD.unit_id AND day = old_day AND lexeme = ANY(lexemes)
        AND cases <= 0;
        RETURN NULL;
    END $$
"""
_TRIGGER = """
    CREATE TRIGGER records_case_terms AFTER UPDATE OF unit_id, opened_at ON records
    FOR EACH ROW WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id OR OLD.opened_at IS DISTINCT FROM NEW.opened_at)
    EXECUTE FUNCTION case_terms_follow_case()
"""

# The live versions of the cases there are already.
_LIVE_CASE_LEXEMES = """
    FROM records r
    JOIN documents d ON d.id = r.document_id
    JOIN chunks c ON c.document_id = d.id AND c.version = d.version,
    unnest(tsvector_to_array(c.search_vector)) AS t(lexeme)
    WHERE d.version > 0 AND is_case_term(t.lexeme)
"""
_BACKFILL = (
    """
    INSERT INTO case_terms (org_id, day, lexeme, cases, example)
    SELECT r.org_id, CAST(r.opened_at AT TIME ZONE 'UTC' AS date), t.lexeme, count(DISTINCT r.document_id),
        (array_agg(r.document_id ORDER BY r.document_id DESC))[1]
    """
    + _LIVE_CASE_LEXEMES
    + "GROUP BY 1, 2, 3"
)
_BACKFILL_UNITS = (
    """
    INSERT INTO case_unit_terms (org_id, unit_id, day, lexeme, cases, example)
    SELECT r.org_id, r.unit_id, CAST(r.opened_at AT TIME ZONE 'UTC' AS date), t.lexeme, count(DISTINCT r.document_id),
        (array_agg(r.document_id ORDER BY r.document_id DESC))[1]
    """
    + _LIVE_CASE_LEXEMES
    + "AND r.unit_id IS NOT NULL GROUP BY 1, 2, 3, 4"
)


def upgrade() -> None:
    op.add_column("search_queries", sa.Column("normalized", sa.Text(), nullable=True))
    _normalize_logged_queries()
    op.alter_column("search_queries", "normalized", nullable=False)
    op.create_index("ix_search_queries_org_id_created_at", "search_queries", ["org_id", "created_at"], unique=False)

    op.execute(_IS_CASE_TERM)
    op.create_table(
        "case_terms",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("lexeme", sa.Text(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("example", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_case_terms_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "day", "lexeme", name=op.f("pk_case_terms"), postgresql_include=["cases"]),
    )
    op.create_table(
        "case_unit_terms",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("unit_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("lexeme", sa.Text(), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("example", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_case_unit_terms_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(
            "org_id", "unit_id", "day", "lexeme", name=op.f("pk_case_unit_terms"), postgresql_include=["cases"]
        ),
    )
    op.execute(_BACKFILL)
    op.execute(_BACKFILL_UNITS)
    # A window's cases by unit and category, counted from the index alone.
    op.drop_index("ix_records_org_id_opened_at", table_name="records")
    op.create_index(
        "ix_records_org_id_opened_at", "records", ["org_id", "opened_at"], postgresql_include=["unit_id", "category"]
    )
    op.execute(_FOLLOW_CASE)
    op.execute(_TRIGGER)


def _normalize_logged_queries() -> None:
    connection = op.get_bind()
    batch = sa.text("SELECT id, query FROM search_queries ORDER BY id LIMIT :rows")
    after = sa.text("SELECT id, query FROM search_queries WHERE id > :after ORDER BY id LIMIT :rows")
    write = sa.text(
        "UPDATE search_queries s SET normalized = v.normalized "
        "FROM unnest(CAST(:ids AS uuid[]), CAST(:normalized AS text[])) AS v(id, normalized) WHERE s.id = v.id"
    )
    rows = connection.execute(batch, {"rows": _BACKFILL_ROWS}).all()
    while rows:
        connection.execute(
            write, {"ids": [row.id for row in rows], "normalized": [normalized_query(row.query) for row in rows]}
        )
        rows = connection.execute(after, {"after": rows[-1].id, "rows": _BACKFILL_ROWS}).all()


def downgrade() -> None:
    op.execute("DROP TRIGGER records_case_terms ON records")
    op.execute("DROP FUNCTION case_terms_follow_case()")
    op.drop_index("ix_records_org_id_opened_at", table_name="records")
    op.create_index("ix_records_org_id_opened_at", "records", ["org_id", "opened_at"])
    op.drop_table("case_unit_terms")
    op.drop_table("case_terms")
    op.execute("DROP FUNCTION is_case_term(text)")
    op.drop_index("ix_search_queries_org_id_created_at", table_name="search_queries")
    op.drop_column("search_queries", "normalized")
