"""The `import_records` job: read a batch file block by block, then index and enrich its new and changed records.

Importing first and indexing after keeps the import rate independent of the embedding model. Indexing goes a step
of records at a time: chunk, embed, write the chunks and make the versions live in one transaction, then enrich
those records offline with the embeddings just made (or by the organization's model). Each step commits, so a
retried job goes on with what is still pending: rows after `rows_read`, records still `pending`, enrichments still
pending for the job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio
import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from folio.alerts import evaluation as alerts
from folio.auth.members import member_principal
from folio.documents.repository import DocumentRepository
from folio.documents.storage import Storage
from folio.embeddings.provider import EmbeddingProvider, Embeddings
from folio.enrichment import service as enrichment
from folio.enrichment.tasks import EnrichmentRunner, Tally, fail_pending
from folio.events.outbox import emit
from folio.events.schemas import BatchData, EventType
from folio.ingestion.chunking import Chunk
from folio.ingestion.extracted import ExtractedText
from folio.ingestion.tasks import chunk_row, chunk_with_settings
from folio.jobs.errors import JobCancelled, WorkerLost
from folio.jobs.kinds import IMPORT_RECORDS
from folio.jobs.runner import JobContext, settled
from folio.llm.provider import Usage
from folio.models import BatchStatus, RecordBatch
from folio.plans import service as plans
from folio.records.importer import write_block
from folio.records.repository import BatchRepository, RecordRepository, ToIndex
from folio.records.rows import RecordMapping, RecordRow, RowError, RowReader
from folio.search import languages
from folio.search.repository import SearchRepository
from folio.settings import IngestionSettings, RecordSettings
from folio.usage.repository import EMBEDDING
from folio.usage.service import Meter

# Progress: reading the file is the first 30 %, indexing and enriching the rest.
_IMPORT_SHARE = 30


class RecordImport:
    """The `import_records` job handler."""

    def __init__(
        self,
        settings: RecordSettings,
        ingestion: IngestionSettings,
        storage: Storage,
        embedder: Callable[[], EmbeddingProvider],
        meter: Meter,
        enrichment: EnrichmentRunner,
        *,
        text_search_config: str = "english",
    ) -> None:
        self.settings = settings
        self.ingestion = ingestion
        self.storage = storage
        self.embedder = embedder
        self.meter = meter
        self.enrichment = enrichment
        # The configuration of records whose language cannot be told (most short ones).
        self.text_search_config = text_search_config

    async def __call__(self, context: JobContext) -> None:
        batch = await self._start(context)
        if batch is None:
            return  # its organization was deleted since the job was queued

        async def failed(code: str, message: str) -> None:
            await self._mark(context, BatchStatus.FAILED, code, message)
            await fail_pending(context, code, message)

        async def cancelled() -> None:
            await self._mark(context, BatchStatus.CANCELLED)

        async with settled(context, failed=failed, cancelled=cancelled):
            if batch.imported_at is None:
                await self._import(context, batch)
            await self._index(context, batch)
            if batch.enrich:
                await self.enrichment.run(context)
            await self._finish(context, batch)

    async def on_lost(self, context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            batch = await BatchRepository(session).get(context.principal, _batch_id(context), for_update=True)
            if batch is not None:
                batch.status, batch.error_code, batch.error_message = (
                    BatchStatus.FAILED,
                    WorkerLost.code,
                    WorkerLost.message,
                )
                _emit(session, batch, EventType.BATCH_FAILED)
            await enrichment.fail_pending(
                session, job_id=context.job_id, code=WorkerLost.code, message=WorkerLost.message
            )

    async def _start(self, context: JobContext) -> RecordBatch | None:
        async with context.fenced() as session:
            batch = await BatchRepository(session).get(context.principal, _batch_id(context), for_update=True)
            if batch is not None:
                batch.status = BatchStatus.IMPORTING if batch.imported_at is None else BatchStatus.INDEXING
                batch.error_code = batch.error_message = None
                batch.finished_at = None
        return batch

    async def _import(self, context: JobContext, batch: RecordBatch) -> None:
        if batch.storage_key is None:
            raise RuntimeError(f"batch {batch.id} has no file to import")
        mapping = RecordMapping.parse(json.dumps(batch.mapping))
        # An object store's file is copied here for the import, which reads it as a file.
        async with self.storage.local_copy(batch.storage_key) as path:
            reader = await anyio.to_thread.run_sync(
                lambda: RowReader(
                    path,
                    batch.format,
                    mapping,
                    delimiter=batch.delimiter,
                    max_text_chars=self.settings.max_text_chars,
                    max_row_chars=self.settings.max_row_chars,
                    max_row_lines=self.settings.max_row_lines,
                    skip=batch.rows_read,
                )
            )
            schema_id = await self._schema(context, batch)
            try:
                blocks = reader.blocks(self.settings.import_rows)
                no_more: list[RecordRow | RowError] = []
                while block := await anyio.to_thread.run_sync(next, blocks, no_more):
                    rows_read = await self._write(context, batch, block, schema_id)
                    percent = _IMPORT_SHARE * reader.bytes_read() / max(reader.size_bytes, 1)
                    await context.progress(percent, f"read {rows_read} rows", stage="importing")
            finally:
                reader.close()
        async with context.fenced() as session:
            live = await BatchRepository(session).get(context.principal, batch.id, for_update=True)
            if live is not None:
                live.imported_at = datetime.now(UTC)
                live.status = BatchStatus.INDEXING
                _emit(session, live, EventType.BATCH_IMPORTED)
                batch.rows_created, batch.rows_updated = live.rows_created, live.rows_updated

    async def _write(
        self, context: JobContext, batch: RecordBatch, block: Sequence[RecordRow | RowError], schema_id: UUID | None
    ) -> int:
        """One block in one transaction, with the batch's counts; the rows read so far. New and changed records
        become pending enrichments with `schema_id` (None: the batch does not enrich)."""
        async with context.fenced() as session:
            await RecordRepository(session).lock_imports(batch.org_id)
            live = await BatchRepository(session).get(context.principal, batch.id, for_update=True)
            if live is None:
                raise JobCancelled()  # its organization is gone
            uploader = None
            if live.created_by is not None:
                uploader = await member_principal(session, org_id=live.org_id, user_id=live.created_by)
            units = None if uploader is None else uploader.units
            # The meter holds the deployment's plans; the tallies read here count every block written before.
            room = await plans.room_for_documents(session, plans=self.meter.plans, org_id=live.org_id)
            written = await write_block(session, live, block, created_by=live.created_by, units=units, room=room)
            if schema_id is not None and written.changed_ids:
                await enrichment.mark_pending(
                    session,
                    principal=context.principal,
                    document_ids=written.changed_ids,
                    schema_id=schema_id,
                    job_id=context.job_id,
                )
            live.rows_read += len(block)
            live.rows_created += written.created
            live.rows_updated += written.updated
            live.rows_unchanged += written.unchanged
            live.rows_failed += written.failed
            return live.rows_read

    async def _schema(self, context: JobContext, batch: RecordBatch) -> UUID | None:
        """The schema the whole import enriches with (the default, if the batch's was deleted since)."""
        if not batch.enrich:
            return None
        async with context.sessionmaker() as session:
            schema = await enrichment.schema_or_default(session, principal=context.principal, schema_id=batch.schema_id)
        return schema.id

    async def _index(self, context: JobContext, batch: RecordBatch) -> None:
        embedder = await anyio.to_thread.run_sync(self.embedder)
        expected = max(batch.rows_created + batch.rows_updated, 1)
        indexed = batch.records_indexed
        after: UUID | None = None
        while True:
            async with context.sessionmaker() as session:
                items = await RecordRepository(session).to_index(batch.id, self.settings.index_records, after=after)
            if not items:
                return
            after = items[-1].document_id
            chunked = await anyio.to_thread.run_sync(self._chunk, items)
            found = await anyio.to_thread.run_sync(_detect, items)
            texts = [chunk.text for chunks in chunked for chunk in chunks]
            vectors = await embedder.embed(texts)
            live = await self._publish(context, batch, items, chunked, found, vectors)
            tokens = sum(chunk.token_count for chunks in chunked for chunk in chunks)
            await self.meter.record(context.principal, EMBEDDING, embedder.model, Usage(prompt_tokens=tokens))
            indexed += len(live)
            if batch.enrich and live:
                tally = await self.enrichment.run(context, document_ids=list(live), vectors=live)
                await self._count_enriched(context, batch, tally)
            percent = _IMPORT_SHARE + (100 - _IMPORT_SHARE) * min(indexed / expected, 0.99)
            await context.progress(percent, f"indexed {indexed} records", stage="indexing")

    def _chunk(self, items: Sequence[ToIndex]) -> list[list[Chunk]]:
        return [chunk_with_settings(ExtractedText.single_page(item.text), self.ingestion) for item in items]

    async def _publish(
        self,
        context: JobContext,
        batch: RecordBatch,
        items: Sequence[ToIndex],
        chunked: Sequence[Sequence[Chunk]],
        found: Sequence[str | None],
        vectors: Embeddings,
    ) -> dict[UUID, Embeddings]:
        """Write the chunks of the records still waiting and make them live; each one's mean vector, by id."""
        async with context.fenced() as session:
            records = RecordRepository(session)
            waiting = {item.document_id for item in await records.lock_unchanged(batch.id, items)}
            rows: list[dict[str, Any]] = []
            means: dict[UUID, Embeddings] = {}
            first = 0
            for item, chunks, language in zip(items, chunked, found, strict=True):
                own = vectors[first : first + len(chunks)]
                first += len(chunks)
                if item.document_id not in waiting:
                    continue
                config = languages.config_for(language, default=self.text_search_config)
                rows += [
                    chunk_row(batch.org_id, item.document_id, item.version + 1, chunk, vector.tolist(), config=config)
                    for chunk, vector in zip(chunks, own, strict=True)
                ]
                if len(own):
                    mean = own.mean(axis=0)
                    means[item.document_id] = (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)
            fresh = [item for item in items if item.document_id in waiting]
            statistics = SearchRepository(session)
            old = [(item.document_id, item.version) for item in fresh if item.version]
            await statistics.count_versions(batch.org_id, old, sign=-1)
            await records.drop_chunks(old)
            await DocumentRepository(session).insert_chunks(rows)
            await statistics.count_versions(
                batch.org_id, [(item.document_id, item.version + 1) for item in fresh], sign=1
            )
            await records.publish(
                [
                    {
                        "row_id": item.document_id,
                        "version": item.version + 1,
                        "chunk_count": len(chunks),
                        "char_count": len(item.text),
                        "language": language,
                    }
                    for item, chunks, language in zip(items, chunked, found, strict=True)
                    if item.document_id in waiting
                ]
            )
            await alerts.evaluate_indexed(session, org_id=batch.org_id, document_ids=list(waiting))
            live = await BatchRepository(session).get(context.principal, batch.id, for_update=True)
            if live is not None:
                live.records_indexed += len(fresh)
        return means

    async def _count_enriched(self, context: JobContext, batch: RecordBatch, tally: Tally) -> None:
        """Counts to follow while the job runs; `_finish` recounts them exactly."""
        async with context.fenced() as session:
            live = await BatchRepository(session).get(context.principal, batch.id, for_update=True)
            if live is not None:
                live.records_enriched += tally.enriched
                live.records_needing_review += tally.needing_review

    async def _finish(self, context: JobContext, batch: RecordBatch) -> None:
        async with context.fenced() as session:
            live = await BatchRepository(session).get(context.principal, batch.id, for_update=True)
            if live is None:
                return
            tally = await enrichment.tally(session, job_id=context.job_id)
            live.records_enriched, live.records_needing_review = tally.enriched, tally.needing_review
            live.status = BatchStatus.SUCCEEDED
            live.finished_at = datetime.now(UTC)
            storage_key, live.storage_key = live.storage_key, None
            _emit(session, live, EventType.BATCH_FINISHED)
        if storage_key is not None:
            await self.storage.delete(storage_key)
        await context.progress(100, f"done: {live.rows_read} rows", stage="done")

    async def _mark(
        self, context: JobContext, status: BatchStatus, code: str | None = None, message: str | None = None
    ) -> None:
        async with context.fenced() as session:
            batch = await BatchRepository(session).get(context.principal, _batch_id(context), for_update=True)
            if batch is not None:
                batch.status, batch.error_code, batch.error_message = status, code, message and message[:2000]
                batch.finished_at = datetime.now(UTC)
                if status is BatchStatus.FAILED:
                    _emit(session, batch, EventType.BATCH_FAILED)


def _emit(session: AsyncSession, batch: RecordBatch, type: EventType) -> None:
    data = BatchData(
        filename=batch.filename,
        status=batch.status.value,
        records_created=batch.rows_created,
        records_updated=batch.rows_updated,
        rows_failed=batch.rows_failed,
        error_code=batch.error_code,
        error_message=batch.error_message,
    )
    emit(session, org_id=batch.org_id, type=type, subject_id=batch.id, data=data)


def _detect(items: Sequence[ToIndex]) -> list[str | None]:
    return [languages.detect(item.text) for item in items]


def _batch_id(context: JobContext) -> UUID:
    if context.subject_id is None:
        raise ValueError(f"job {context.job_id} of kind {IMPORT_RECORDS} has no batch")
    return context.subject_id
