"""Trending's daily rollups (`CaseTerm`, `CaseUnitTerm`), kept as search's term statistics are: changed in the
transaction that makes a document version live, replaces it or deletes it (`SearchRepository.count_versions`).

Only cases count (documents with a record), each lexeme once per case, on the UTC day the case was opened; rows are
written in key order, as the BM25 statistics are, so two publishing transactions wait for each other instead of
deadlocking. The cases' records are held FOR SHARE, in id order as every writer of cases locks them: a move to
another unit (whose trigger moves the live version's rows, see the migration `d5b6f2e30c02`) then waits for the
version change, or the change waits for it, and the two never count different versions.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_CASE_LEXEMES = """
    WITH cases AS MATERIALIZED (
        SELECT document_id, org_id, unit_id, CAST(opened_at AT TIME ZONE 'UTC' AS date) AS day
        FROM records
        WHERE document_id = ANY(CAST(:document_ids AS uuid[]))
        ORDER BY document_id
        FOR SHARE
    )
    SELECT DISTINCT k.org_id, k.unit_id, k.day, k.document_id, t.lexeme
    FROM cases k
    JOIN chunks c ON c.document_id = k.document_id, unnest(tsvector_to_array(c.search_vector)) AS t(lexeme)
    WHERE (c.document_id, c.version) IN (SELECT * FROM unnest(CAST(:document_ids AS uuid[]), CAST(:versions AS int[])))
    AND is_case_term(t.lexeme)
"""
# The newest case adding a lexeme on a day becomes the row's example (uuid has no max() before PostgreSQL 18).
_COUNT = text(
    f"""
    WITH lexemes AS ({_CASE_LEXEMES})
    INSERT INTO case_terms AS t (org_id, day, lexeme, cases, example)
    SELECT org_id, day, lexeme, :sign * count(*), (array_agg(document_id ORDER BY document_id DESC))[1]
    FROM lexemes
    GROUP BY org_id, day, lexeme
    ORDER BY day, lexeme
    ON CONFLICT (org_id, day, lexeme) DO UPDATE
    SET cases = t.cases + excluded.cases,
        example = CASE WHEN excluded.cases > 0 THEN excluded.example ELSE t.example END
    RETURNING day, lexeme, cases
    """  # noqa: S608 — constants only
)
_COUNT_UNITS = text(
    f"""
    WITH lexemes AS ({_CASE_LEXEMES})
    INSERT INTO case_unit_terms AS t (org_id, unit_id, day, lexeme, cases, example)
    SELECT org_id, unit_id, day, lexeme, :sign * count(*), (array_agg(document_id ORDER BY document_id DESC))[1]
    FROM lexemes
    WHERE unit_id IS NOT NULL
    GROUP BY org_id, unit_id, day, lexeme
    ORDER BY unit_id, day, lexeme
    ON CONFLICT (org_id, unit_id, day, lexeme) DO UPDATE
    SET cases = t.cases + excluded.cases,
        example = CASE WHEN excluded.cases > 0 THEN excluded.example ELSE t.example END
    RETURNING unit_id, day, lexeme, cases
    """  # noqa: S608 — constants only
)
_FORGET = text(
    """
    DELETE FROM case_terms
    WHERE org_id = :org_id AND cases <= 0
    AND (day, lexeme) IN (SELECT * FROM unnest(CAST(:days AS date[]), CAST(:lexemes AS text[])))
    """
)
_FORGET_UNITS = text(
    """
    DELETE FROM case_unit_terms
    WHERE org_id = :org_id AND cases <= 0
    AND (unit_id, day, lexeme) IN (
        SELECT * FROM unnest(CAST(:unit_ids AS uuid[]), CAST(:days AS date[]), CAST(:lexemes AS text[]))
    )
    """
)


async def count_cases(
    session: AsyncSession, org_id: UUID, *, document_ids: Sequence[UUID], versions: Sequence[int], sign: int
) -> None:
    """Add (`sign=1`) or take away (-1) the lexemes of the cases among `document_ids`, each at its version."""
    parameters = {"document_ids": list(document_ids), "versions": list(versions), "sign": sign}
    changed = (await session.execute(_COUNT, parameters)).all()
    emptied = [(day, lexeme) for day, lexeme, cases in changed if cases <= 0]
    if emptied:
        days, lexemes = zip(*emptied, strict=True)
        await session.execute(_FORGET, {"org_id": org_id, "days": list(days), "lexemes": list(lexemes)})
    changed = (await session.execute(_COUNT_UNITS, parameters)).all()
    emptied_units = [(unit_id, day, lexeme) for unit_id, day, lexeme, cases in changed if cases <= 0]
    if emptied_units:
        unit_ids, days, lexemes = zip(*emptied_units, strict=True)
        await session.execute(
            _FORGET_UNITS,
            {"org_id": org_id, "unit_ids": list(unit_ids), "days": list(days), "lexemes": list(lexemes)},
        )
