"""SQL for record batches and the import job (the case-facing queries are `folio.cases.repository`'s)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    Integer,
    Table,
    Text,
    Uuid,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    true,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.db import table
from folio.models import (
    BusinessUnit,
    Chunk,
    Document,
    DocumentContent,
    DocumentStatus,
    Organization,
    Record,
    RecordBatch,
    RecordBatchError,
)
from folio.pagination import Paged, PageRequest, paged
from folio.repository import ScopedRepository


@dataclass(frozen=True, slots=True)
class Known:
    """A record the organization already has under an external id."""

    document_id: UUID
    sha256: str


@dataclass(frozen=True, slots=True)
class CaseDefaults:
    """What new cases of an import block take from their organization: their numbers (from `first_number` on),
    the SLA hours, the business units by lower-case name, and the creation time."""

    first_number: int
    sla_hours: dict[str, int]
    units: dict[str, UUID]
    now: datetime


@dataclass(frozen=True, slots=True)
class ToIndex:
    document_id: UUID
    version: int
    sha256: str
    title: str
    text: str


class RecordRepository:
    """The import job's statements: they write many rows at once (one statement per table for a block of rows)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_imports(self, org_id: UUID) -> None:
        """Serialise the organization's imports, block by block, so two batches never add one external id twice."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"folio.records:{org_id}"},
        )

    async def unit_ids_by_name(self, org_id: UUID) -> dict[str, UUID]:
        """The organization's business units by lower-case name."""
        rows = await self.session.execute(
            select(func.lower(BusinessUnit.name), BusinessUnit.id).where(BusinessUnit.org_id == org_id)
        )
        return {name: unit_id for name, unit_id in rows.all()}  # noqa: C416 (rows are not pairs to mypy)

    async def units_of_cases(self, org_id: UUID, external_ids: Sequence[str]) -> dict[str, UUID | None]:
        """The business unit of each case the organization has under these external ids."""
        if not external_ids:
            return {}
        rows = await self.session.execute(
            select(Record.external_id, Record.unit_id).where(
                Record.org_id == org_id, Record.external_id.in_(list(external_ids))
            )
        )
        return {str(external_id): unit_id for external_id, unit_id in rows.all()}

    async def known(self, org_id: UUID, external_ids: Sequence[str]) -> dict[str, Known]:
        """The records the organization has under these external ids, their documents locked in id order, as every
        writer of records locks them (so an import and an indexing batch wait for each other rather than
        deadlock); one deleted meanwhile is not known any more."""
        if not external_ids:
            return {}
        # One unique-index probe per id, whatever the statistics say: a table that grew by a batch since it was
        # last analysed otherwise tempts the planner into reading all the organization's records per block.
        keys = (
            func.unnest(bindparam("external_ids", list(external_ids), type_=ARRAY(Text)))
            .table_valued("external_id")
            .render_derived("keys")
        )
        match = (
            select(Record.document_id)
            .where(Record.org_id == org_id, Record.external_id == keys.c.external_id)
            .limit(1)
            .lateral("match")
        )
        rows = await self.session.execute(
            select(keys.c.external_id, match.c.document_id).select_from(keys.join(match, true()))
        )
        found = {str(external_id): document_id for external_id, document_id in rows.all()}
        if not found:
            return {}
        locked = await self.session.execute(
            select(Document.id, Document.sha256)
            .where(Document.id.in_(sorted(found.values())))
            .order_by(Document.id)
            .with_for_update()
        )
        hashes: dict[UUID, str] = {row.id: row.sha256 for row in locked.all()}
        return {
            external_id: Known(document_id, hashes[document_id])
            for external_id, document_id in found.items()
            if document_id in hashes
        }

    async def case_defaults(self, org_id: UUID, count: int) -> CaseDefaults:
        """Draw `count` case numbers from the organization's counter (never reused), with its case settings."""
        organizations = table(Organization)
        drawn = (
            await self.session.execute(
                update(organizations)
                .where(organizations.c.id == org_id)
                .values(case_numbers=organizations.c.case_numbers + count)
                .returning(organizations.c.case_numbers, organizations.c.sla_hours, func.now())
            )
        ).one()
        return CaseDefaults(
            first_number=drawn[0] - count + 1,
            sla_hours=drawn[1],
            units=await self.unit_ids_by_name(org_id),
            now=drawn[2],
        )

    async def add_many(
        self,
        documents: Sequence[dict[str, Any]],
        records: Sequence[dict[str, Any]],
        contents: Sequence[dict[str, Any]],
    ) -> None:
        for model, rows in ((Document, documents), (Record, records), (DocumentContent, contents)):
            if rows:
                await self.session.execute(insert(table(model)), list(rows))

    async def update_documents(self, rows: Sequence[dict[str, Any]]) -> None:
        """Each dict: `row_id` and the columns to set, the same columns in every dict."""
        await self._update(table(Document), "id", rows)

    async def update_records(self, rows: Sequence[dict[str, Any]]) -> None:
        await self._update(table(Record), "document_id", rows)

    async def update_contents(self, rows: Sequence[dict[str, Any]]) -> None:
        await self._update(table(DocumentContent), "document_id", rows)

    async def _update(self, target: Table, key: str, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            values: dict[str, Any] = {name: bindparam(name) for name in rows[0] if name != "row_id"}
            statement = update(target).where(target.c[key] == bindparam("row_id")).values(values)
            await self.session.execute(statement, list(rows))

    async def to_index(self, batch_id: UUID, limit: int, *, after: UUID | None) -> list[ToIndex]:
        """Records the batch wrote that are waiting for their chunks, oldest first, after `after` (a keyset walk
        along the batch's index, so each step reads only its own rows however large the batch)."""
        statement = (
            select(Document.id, Document.version, Document.sha256, Document.title, DocumentContent.text)
            .join(Record, Record.document_id == Document.id)
            .join(DocumentContent, DocumentContent.document_id == Document.id)
            .where(Record.batch_id == batch_id, Document.status == DocumentStatus.PENDING)
            .order_by(Record.document_id)
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(Record.document_id > after)
        return [ToIndex(*row) for row in (await self.session.execute(statement)).all()]

    async def lock_unchanged(self, batch_id: UUID, items: Sequence[ToIndex]) -> list[ToIndex]:
        """Lock the documents and keep those still waiting, with the text that was read: a newer batch may have
        changed one since (then that batch indexes it)."""
        by_id = {item.document_id: item for item in items}
        rows = await self.session.execute(
            select(Document.id, Document.sha256, Document.version)
            .join(Record, Record.document_id == Document.id)
            .where(
                Document.id.in_(list(by_id)),
                Record.batch_id == batch_id,
                Document.status == DocumentStatus.PENDING,
            )
            .order_by(Document.id)
            .with_for_update(of=Document)
        )
        return [
            by_id[document_id]
            for document_id, sha256, version in rows.all()
            if by_id[document_id].sha256 == sha256 and by_id[document_id].version == version
        ]

    async def drop_chunks(self, versions: Sequence[tuple[UUID, int]]) -> None:
        """Delete the chunks of these (document, version) pairs."""
        if versions:
            document_ids, numbers = zip(*versions, strict=True)
            pairs = select(
                func.unnest(bindparam("document_ids", list(document_ids), type_=ARRAY(Uuid))),
                func.unnest(bindparam("versions", list(numbers), type_=ARRAY(Integer))),
            )
            await self.session.execute(delete(Chunk).where(tuple_(Chunk.document_id, Chunk.version).in_(pairs)))

    async def publish(self, rows: Sequence[dict[str, Any]]) -> None:
        """Make new versions live: each dict holds `row_id`, `version`, `chunk_count`, `char_count`, `language`."""
        documents = table(Document)
        await self.session.execute(
            update(documents)
            .where(documents.c.id == bindparam("row_id"))
            .values(
                version=bindparam("version"),
                chunk_count=bindparam("chunk_count"),
                char_count=bindparam("char_count"),
                language=bindparam("language"),
                page_count=1,
                status=DocumentStatus.READY.value,
                processed_at=func.now(),
                updated_at=func.now(),
            ),
            list(rows),
        )
        content = table(DocumentContent)
        await self.session.execute(
            update(content).where(content.c.document_id == bindparam("row_id")).values(version=bindparam("version")),
            [{"row_id": row["row_id"], "version": row["version"]} for row in rows],
        )


class BatchRepository(ScopedRepository[RecordBatch]):
    model = RecordBatch

    async def page_errors(self, principal: Principal, batch_id: UUID, page: PageRequest) -> Paged[RecordBatchError]:
        statement = select(RecordBatchError).where(
            RecordBatchError.org_id == principal.org_id, RecordBatchError.batch_id == batch_id
        )
        return await paged(self.session, statement, RecordBatchError.id, page)

    async def add_errors(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(table(RecordBatchError)), list(rows))
