"""SQL for enrichment schemas (an organization sees the built-in ones and its own) and for enrichments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import numpy as np
from pgvector.sqlalchemy import Vector
from sqlalchemy import ColumnElement, bindparam, case, func, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from folio.catalog import CatalogRepository
from folio.db import new_id, table
from folio.embeddings.provider import Embeddings
from folio.models import (
    Chunk,
    Document,
    DocumentContent,
    Enrichment,
    EnrichmentSchema,
    EnrichmentStatus,
    Record,
)
from folio.models.chunk import EMBEDDING_DIMENSION
from folio.pagination import Paged, PageRequest, paged

# The enrichment fields a case carries as its labels (`records.sentiment`, …), for analytics.
LABELS = ("sentiment", "severity", "category")
# What a job still has to write: pending, or failed when an earlier run of the job failed for good (a retry).
_UNWRITTEN = (EnrichmentStatus.PENDING, EnrichmentStatus.FAILED)


@dataclass(frozen=True, slots=True)
class Pending:
    """An enrichment a job is to write, with what it is written from."""

    id: UUID
    document_id: UUID
    schema_id: UUID
    template_id: UUID | None
    instructions: str | None
    title: str
    version: int
    text: str


@dataclass(frozen=True, slots=True)
class Outcome:
    id: UUID
    document_id: UUID
    status: EnrichmentStatus
    data: dict[str, Any] | None
    raw_output: str | None
    model: str
    confidence: float | None
    needs_review: bool
    document_version: int
    attempts: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error_code: str | None = None
    error_message: str | None = None


class SchemaRepository(CatalogRepository[EnrichmentSchema]):
    model = EnrichmentSchema

    async def page_of(self, org_id: UUID, builtin: bool | None, page: PageRequest) -> Paged[EnrichmentSchema]:
        return await paged(self.session, self.filtered(org_id, builtin), EnrichmentSchema.id, page)

    async def get_many(self, org_id: UUID, schema_ids: Sequence[UUID]) -> dict[UUID, EnrichmentSchema]:
        rows = await self.session.scalars(self.visible(org_id).where(EnrichmentSchema.id.in_(schema_ids)))
        return {schema.id: schema for schema in rows}

    async def default(self, org_id: UUID) -> EnrichmentSchema | None:
        """The organization's default schema, else the built-in default."""
        return await self.first_default(self.visible(org_id))

    async def clear_default(self, org_id: UUID) -> None:
        await self.session.execute(
            update(EnrichmentSchema)
            .where(EnrichmentSchema.org_id == org_id, EnrichmentSchema.is_default)
            .values(is_default=False)
        )


class EnrichmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_documents(self, org_id: UUID, document_ids: Sequence[UUID]) -> list[tuple[Enrichment, str]]:
        """The enrichments of these documents with their schema's name, oldest first."""
        statement = (
            select(Enrichment, EnrichmentSchema.name)
            .join(EnrichmentSchema, EnrichmentSchema.id == Enrichment.schema_id)
            .where(Enrichment.org_id == org_id, Enrichment.document_id.in_(document_ids))
            .order_by(Enrichment.id)
        )
        return [(enrichment, name) for enrichment, name in (await self.session.execute(statement)).all()]

    async def get(self, org_id: UUID, document_id: UUID, schema_id: UUID) -> Enrichment | None:
        statement = select(Enrichment).where(
            Enrichment.org_id == org_id, Enrichment.document_id == document_id, Enrichment.schema_id == schema_id
        )
        # `request` writes with INSERT … ON CONFLICT, behind the ORM's back: read the row as it is now.
        enrichment: Enrichment | None = await self.session.scalar(statement.execution_options(populate_existing=True))
        return enrichment

    async def request(
        self,
        *,
        org_id: UUID,
        document_ids: Sequence[UUID],
        schema_id: UUID,
        job_id: UUID,
        template_id: UUID | None = None,
        instructions: str | None = None,
        created_by: UUID | None = None,
    ) -> None:
        """Mark the documents' enrichments with the schema pending for `job_id` (made when missing). The previous
        data stays readable until the job replaces it; a job that was writing it before finds it no longer its."""
        if not document_ids:
            return
        values = [
            {
                "id": new_id(),
                "org_id": org_id,
                "document_id": document_id,
                "schema_id": schema_id,
                "template_id": template_id,
                "instructions": instructions,
                "status": EnrichmentStatus.PENDING.value,
                "job_id": job_id,
                "created_by": created_by,
            }
            # In document order, as every writer of records locks them: concurrent writers wait, never deadlock.
            for document_id in sorted(document_ids)
        ]
        # Many parameter sets for one statement (executemany): compiled once and cached, unlike a VALUES list.
        statement = insert(table(Enrichment))
        statement = statement.on_conflict_do_update(
            index_elements=[Enrichment.document_id, Enrichment.schema_id],
            set_={
                "template_id": statement.excluded.template_id,
                "instructions": statement.excluded.instructions,
                "status": statement.excluded.status,
                "job_id": statement.excluded.job_id,
                "error_code": None,
                "error_message": None,
                "updated_at": func.now(),
            },
        )
        await self.session.execute(statement, values)

    async def pending(
        self, job_id: UUID, *, document_ids: Sequence[UUID] | None, after: UUID | None, limit: int
    ) -> list[Pending]:
        """Enrichments still to write for `job_id`, with the live text of their documents, oldest first, after
        `after` (a keyset walk, so a step does not read past the ones written before it)."""
        statement = (
            select(
                Enrichment.id,
                Enrichment.document_id,
                Enrichment.schema_id,
                Enrichment.template_id,
                Enrichment.instructions,
                Document.title,
                Document.version,
                DocumentContent.text,
            )
            .join(Document, Document.id == Enrichment.document_id)
            .join(DocumentContent, DocumentContent.document_id == Enrichment.document_id)
            .where(Enrichment.job_id == job_id, Enrichment.status.in_(_UNWRITTEN))
            .order_by(Enrichment.id)
            .limit(limit)
        )
        if document_ids is not None:
            statement = statement.where(Enrichment.document_id.in_(document_ids))
        if after is not None:
            statement = statement.where(Enrichment.id > after)
        return [Pending(*row) for row in (await self.session.execute(statement)).all()]

    async def vectors(self, document_ids: Sequence[UUID]) -> dict[UUID, Embeddings]:
        """Each document's live chunks' mean embedding, made unit length: what the document is about as a whole."""
        statement = (
            select(Chunk.document_id, type_coerce(func.avg(Chunk.embedding), Vector(EMBEDDING_DIMENSION)))
            .join(Document, (Document.id == Chunk.document_id) & (Document.version == Chunk.version))
            .where(Chunk.document_id.in_(document_ids))
            .group_by(Chunk.document_id)
        )
        vectors: dict[UUID, Embeddings] = {}
        for document_id, mean in (await self.session.execute(statement)).all():
            vector = np.asarray(mean, dtype=np.float32)
            vectors[document_id] = vector / max(float(np.linalg.norm(vector)), 1e-12)
        return vectors

    async def save(self, job_id: UUID, outcomes: Sequence[Outcome]) -> None:
        """Write the outcomes of enrichments still pending for `job_id` (another request may have taken one over)."""
        if not outcomes:
            return
        now = datetime.now(UTC)
        enrichments = table(Enrichment)
        statement = (
            update(enrichments)
            .where(
                enrichments.c.id == bindparam("outcome_id"),
                enrichments.c.job_id == job_id,
                # An IN list cannot be bound in an executemany, ORs can.
                or_(*(enrichments.c.status == status.value for status in _UNWRITTEN)),
            )
            .values(
                status=bindparam("status"),
                data=bindparam("data"),
                raw_output=bindparam("raw_output"),
                model=bindparam("model"),
                confidence=bindparam("confidence"),
                needs_review=bindparam("needs_review"),
                document_version=bindparam("document_version"),
                attempts=bindparam("attempts"),
                prompt_tokens=bindparam("prompt_tokens"),
                completion_tokens=bindparam("completion_tokens"),
                error_code=bindparam("error_code"),
                error_message=bindparam("error_message"),
                enriched_at=now,
            )
        )
        rows = [
            {
                "outcome_id": outcome.id,
                "status": outcome.status.value,
                "data": outcome.data,
                "raw_output": outcome.raw_output,
                "model": outcome.model,
                "confidence": outcome.confidence,
                "needs_review": outcome.needs_review,
                "document_version": outcome.document_version,
                "attempts": outcome.attempts,
                "prompt_tokens": outcome.prompt_tokens,
                "completion_tokens": outcome.completion_tokens,
                "error_code": outcome.error_code,
                "error_message": outcome.error_message,
            }
            for outcome in sorted(outcomes, key=lambda outcome: outcome.document_id)
        ]
        await self.session.execute(statement, rows)
        await self.copy_labels([outcome.document_id for outcome in outcomes])

    async def copy_labels(self, document_ids: Sequence[UUID]) -> None:
        """Copy onto the cases among `document_ids` the labels of their enrichment by their organization's default
        schema (those it has not enriched keep theirs)."""
        records, enrichments = table(Record), table(Enrichment)
        default_schema = func.coalesce(
            select(EnrichmentSchema.id)
            .where(EnrichmentSchema.org_id == records.c.org_id, EnrichmentSchema.is_default)
            .scalar_subquery(),
            select(EnrichmentSchema.id)
            .where(EnrichmentSchema.org_id.is_(None), EnrichmentSchema.is_default)
            .scalar_subquery(),
        )
        await self.session.execute(
            update(records)
            .where(enrichments.c.document_id == records.c.document_id, enrichments.c.schema_id == default_schema)
            .where(records.c.document_id.in_(sorted(document_ids)))
            .values({label: _label(enrichments.c.data, label) for label in LABELS})
        )

    async def count_cases(self, org_id: UUID) -> int:
        return int(await self.session.scalar(select(func.count()).where(Record.org_id == org_id)) or 0)

    async def relabel(self, org_id: UUID, *, after: UUID | None, limit: int) -> UUID | None:
        """The labels of the organization's next `limit` cases (by id, after `after`) taken again from the default
        schema's enrichments, cleared where it has none: the id to go on after, None once every case is done."""
        records = table(Record)
        batch = select(records.c.document_id).where(records.c.org_id == org_id)
        if after is not None:
            batch = batch.where(records.c.document_id > after)
        ids = list(await self.session.scalars(batch.order_by(records.c.document_id).limit(limit)))
        if not ids:
            return None
        await self.session.execute(update(records).where(records.c.document_id.in_(ids)).values(dict.fromkeys(LABELS)))
        await self.copy_labels(ids)
        return ids[-1] if len(ids) == limit else None

    async def tally(self, job_id: UUID) -> tuple[int, int]:
        """Enrichments `job_id` has written (whatever their outcome), and how many of them need review."""
        written = Enrichment.status.not_in(_UNWRITTEN)
        counts = select(func.count().filter(written), func.count().filter(written, Enrichment.needs_review))
        enriched, review = (await self.session.execute(counts.where(Enrichment.job_id == job_id))).one()
        return int(enriched), int(review)

    async def fail_pending(self, job_id: UUID, code: str, message: str) -> None:
        """What a job leaves unwritten when it fails for good is marked failed, with the job's error."""
        await self.session.execute(
            update(Enrichment)
            .where(Enrichment.job_id == job_id, Enrichment.status == EnrichmentStatus.PENDING)
            .values(status=EnrichmentStatus.FAILED, error_code=code, error_message=message)
        )


def _label(data: ColumnElement[Any], name: str) -> ColumnElement[str | None]:
    """A label is text: a field of another type (a list, a number) leaves it empty."""
    return case((func.jsonb_typeof(data[name]) == "string", func.left(data[name].astext, 100)), else_=None)
