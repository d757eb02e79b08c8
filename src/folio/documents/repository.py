"""SQL for documents, their content and their chunks. Request-side statements start from `scoped(principal)`."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from folio.auth.principal import Principal
from folio.ingestion.extracted import FileKind
from folio.models import Chunk, Document, DocumentContent, DocumentStatus
from folio.pagination import Paged, PageRequest, paged
from folio.repository import ScopedRepository, sees_document


@dataclass(frozen=True, slots=True)
class DocumentFilters:
    status: DocumentStatus | None = None
    kind: FileKind | None = None
    tags: tuple[str, ...] = ()
    created_after: datetime | None = None
    created_before: datetime | None = None
    title: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        """What a document meets to pass the filters."""
        conditions: list[ColumnElement[bool]] = []
        if self.status is not None:
            conditions.append(Document.status == self.status)
        if self.kind is not None:
            conditions.append(Document.kind == self.kind)
        if self.tags:
            conditions.append(Document.tags.contains(list(self.tags)))
        if self.created_after is not None:
            conditions.append(Document.created_at >= self.created_after)
        if self.created_before is not None:
            conditions.append(Document.created_at < self.created_before)
        if self.title:
            conditions.append(Document.title.icontains(self.title, autoescape=True))
        return conditions


class DocumentRepository(ScopedRepository[Document]):
    model = Document

    def scoped(self, principal: Principal) -> Select[Document]:
        return super().scoped(principal).where(sees_document(principal))

    async def content(self, principal: Principal, document_id: UUID) -> DocumentContent | None:
        content: DocumentContent | None = await self.session.scalar(
            select(DocumentContent).where(
                DocumentContent.org_id == principal.org_id, DocumentContent.document_id == document_id
            )
        )
        return content

    async def page_chunks(self, principal: Principal, document: Document, page: PageRequest) -> Paged[Chunk]:
        """The chunks of the document's live version, in order. The version is read in the same statement (one
        snapshot): read before, a reindex publishing in between would leave the old version's chunks deleted and
        the page empty."""
        live = select(Document.version).where(Document.id == document.id).scalar_subquery()
        statement = select(Chunk).where(
            Chunk.org_id == principal.org_id, Chunk.document_id == document.id, Chunk.version == live
        )
        return await paged(self.session, statement, Chunk.id, page)

    async def by_hashes(self, principal: Principal, hashes: Collection[str]) -> dict[str, Document]:
        """The oldest document of the organization with each content (failed ones and records do not count)."""
        statement = (
            self.scoped(principal)
            .where(
                Document.sha256.in_(sorted(hashes)),
                Document.status != DocumentStatus.FAILED,
                Document.kind != FileKind.RECORD,
            )
            .order_by(Document.id.desc())
        )
        # Newest first, so that the oldest of each content is the one left in the dict.
        return {document.sha256: document for document in (await self.session.scalars(statement)).all()}

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
