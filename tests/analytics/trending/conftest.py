"""Cases with text written straight into the database (documents, records, one chunk each) and counted into the
rollups by the same statements an import runs: trends are then known exactly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from fastapi import FastAPI
from sqlalchemy import func, select, text

from folio.db import new_id
from folio.models import Record
from folio.search.repository import SearchRepository

_INSERT = text(
    """
    WITH given AS (
        SELECT *
        FROM unnest(
            CAST(:ids AS uuid[]), CAST(:opened AS timestamptz[]), CAST(:texts AS text[]), CAST(:units AS uuid[]),
            CAST(:categories AS text[])
        ) WITH ORDINALITY AS g(id, opened_at, body, unit_id, category, n)
    ), documents AS (
        INSERT INTO documents (id, org_id, title, filename, kind, status, size_bytes, sha256, version, chunk_count)
        SELECT id, :org_id, left(body, 80), 'generated.csv', 'record', 'ready', length(body), md5(body), 1, 1
        FROM given
    ), records AS (
        INSERT INTO records (document_id, org_id, number, opened_at, unit_id, category)
        SELECT id, :org_id, :first + n, opened_at, unit_id, category FROM given
    )
    INSERT INTO chunks (id, org_id, document_id, version, ordinal, text, start_char, end_char, page_start, page_end,
        token_count, embedding)
    SELECT gen_random_uuid(), :org_id, id, 1, 0, body, 0, length(body), 1, 1, 16,
        CAST(array_fill(0, ARRAY[384]) AS vector)
    FROM given
    """
)

# What the rollups must hold: every live case's lexemes counted afresh (the migration's backfill).
RECOUNT = text(
    """
    SELECT r.unit_id, CAST(r.opened_at AT TIME ZONE 'UTC' AS date) AS day, t.lexeme, count(DISTINCT r.document_id)
    FROM records r
    JOIN documents d ON d.id = r.document_id
    JOIN chunks c ON c.document_id = d.id AND c.version = d.version,
    unnest(tsvector_to_array(c.search_vector)) AS t(lexeme)
    WHERE r.org_id = :org_id AND d.version > 0 AND is_case_term(t.lexeme)
    GROUP BY GROUPING SETS ((day, t.lexeme), (r.unit_id, day, t.lexeme))
    HAVING GROUPING(r.unit_id) = 1 OR r.unit_id IS NOT NULL
    """
)


@dataclass(frozen=True)
class Text:
    opened_at: datetime
    body: str
    unit_id: UUID | None = None
    category: str | None = None


async def insert_texts(app: FastAPI, org_id: UUID, cases: Sequence[Text]) -> list[UUID]:
    """The cases, live at version 1, counted into the rollups in one transaction as an import's step does."""
    ids = [new_id() for _ in cases]
    async with app.state.sessionmaker() as session, session.begin():
        first = await session.scalar(select(func.coalesce(func.max(Record.number), 0)).where(Record.org_id == org_id))
        await session.execute(
            _INSERT,
            {
                "org_id": org_id,
                "first": first,
                "ids": ids,
                "opened": [case.opened_at for case in cases],
                "texts": [case.body for case in cases],
                "units": [case.unit_id for case in cases],
                "categories": [case.category for case in cases],
            },
        )
        await SearchRepository(session).count_versions(org_id, [(case_id, 1) for case_id in ids], sign=1)
    return ids


Terms = dict[tuple[date, str], int]
UnitTerms = dict[tuple[UUID, date, str], int]


async def rollups(app: FastAPI, org_id: UUID) -> tuple[Terms, UnitTerms]:
    """The organization's rows of `case_terms` by (day, lexeme) and of `case_unit_terms` by (unit, day, lexeme)."""
    async with app.state.sessionmaker() as session:
        terms = await session.execute(
            text("SELECT day, lexeme, cases FROM case_terms WHERE org_id = :org_id"), {"org_id": org_id}
        )
        units = await session.execute(
            text("SELECT unit_id, day, lexeme, cases FROM case_unit_terms WHERE org_id = :org_id"), {"org_id": org_id}
        )
        return (
            {(day, lexeme): cases for day, lexeme, cases in terms.all()},
            {(unit_id, day, lexeme): cases for unit_id, day, lexeme, cases in units.all()},
        )


async def recounted(app: FastAPI, org_id: UUID) -> tuple[Terms, UnitTerms]:
    """What `rollups` must return, counted from the live chunks."""
    terms: Terms = {}
    units: UnitTerms = {}
    async with app.state.sessionmaker() as session:
        for unit_id, day, lexeme, cases in (await session.execute(RECOUNT, {"org_id": org_id})).all():
            if unit_id is None:
                terms[(day, lexeme)] = cases
            else:
                units[(unit_id, day, lexeme)] = cases
    return terms, units
