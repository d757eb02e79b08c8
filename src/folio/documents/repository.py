"""SQL for documents, their content and their chunks. Request-side statements start from `scoped(principal)`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Select, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.models import Chunk, Document, DocumentContent, DocumentStatus


class DocumentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def scoped(principal: Principal) -> Select[Document]:
        return select(Document).where(Document.org_id == principal.org_id)

    async def add(self, document: Document) -> None:
        self.session.add(document)
        await self.session.flush()

    async def get(self, principal: Principal, document_id: UUID, *, for_update: bool = False) -> Document | None:
        statement = self.scoped(principal).where(Document.id == document_id)
        document: Document | None = await self.session.scalar(statement.with_for_update() if for_update else statement)
        return document

    async def by_hash(self, principal: Principal, sha256: str) -> Document | None:
        """The oldest document of the organization with this content (failed ones do not count)."""
        statement = (
            self.scoped(principal)
            .where(Document.sha256 == sha256, Document.status != DocumentStatus.FAILED)
            .order_by(Document.id)
            .limit(1)
        )
        document: Document | None = await self.session.scalar(statement)
        return document

    async def delete_chunks(
        self, document_id: UUID, *, version: int | None = None, except_version: int | None = None
    ) -> None:
        statement = delete(Chunk).where(Chunk.document_id == document_id)
        if version is not None:
            statement = statement.where(Chunk.version == version)
        if except_version is not None:
            statement = statement.where(Chunk.version != except_version)
        await self.session.execute(statement)

    async def insert_chunks(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(Chunk), list(rows))

    async def save_content(self, content: DocumentContent) -> None:
        values = {
            "document_id": content.document_id,
            "org_id": content.org_id,
            "version": content.version,
            "text": content.text,
            "pages": content.pages,
        }
        statement = pg_insert(DocumentContent).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[DocumentContent.document_id],
            set_={
                "version": statement.excluded.version,
                "text": statement.excluded.text,
                "pages": statement.excluded.pages,
            },
        )
        await self.session.execute(statement)
