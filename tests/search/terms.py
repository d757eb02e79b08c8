"""What the search tests check of term statistics."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from folio.models import SearchTerm


async def stored_and_recounted_terms(session: AsyncSession, org_id: UUID) -> tuple[dict[str, int], dict[str, int]]:
    """The organization's term statistics as stored, and as counted again from the live chunks' search vectors."""
    statement = select(SearchTerm.lexeme, SearchTerm.chunks).where(SearchTerm.org_id == org_id)
    stored = {row.lexeme: row.chunks for row in (await session.execute(statement)).all()}
    recount = text(
        "SELECT t.lexeme, count(*) FROM chunks c JOIN documents d ON d.id = c.document_id "
        "AND d.version = c.version, unnest(c.search_vector) t WHERE c.org_id = :org GROUP BY 1"
    )
    recounted = {str(lexeme): int(chunks) for lexeme, chunks in (await session.execute(recount, {"org": org_id})).all()}
    return stored, recounted
