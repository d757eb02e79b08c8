"""SQL of answers: where the chunks an answer may quote lie in their documents' content."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.answers.placement import PAGED_KINDS, Placement
from folio.auth.principal import Principal
from folio.models import Chunk, Document


class PlacementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def placements(self, principal: Principal, chunk_ids: Sequence[UUID]) -> dict[UUID, Placement]:
        """The placements of those of the chunks that belong to their document's live version, by chunk id (a
        chunk replaced by a reindex since it was found has none: its offsets would point into another text)."""
        if not chunk_ids:
            return {}
        statement = (
            select(
                Chunk.id,
                Chunk.version,
                Chunk.start_char,
                Chunk.page_start,
                Chunk.page_end,
                Chunk.page_breaks,
                Document.kind,
            )
            .join(Document, Document.id == Chunk.document_id)
            .where(
                Chunk.org_id == principal.org_id,
                Chunk.id.in_(chunk_ids),
                Chunk.version == Document.version,
            )
        )
        return {
            row.id: Placement(
                version=row.version,
                start=row.start_char,
                page_start=row.page_start,
                page_end=row.page_end,
                page_breaks=None if row.page_breaks is None else tuple(row.page_breaks),
                paged=row.kind in PAGED_KINDS,
            )
            for row in await self.session.execute(statement)
        }
