"""The ingestion job: extract, chunk, embed and index a document, then make the new version live at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from folio.alerts import evaluation as alerts
from folio.documents.events import emit_document
from folio.documents.repository import DocumentRepository
from folio.documents.storage import Storage
from folio.embeddings.provider import EmbeddingProvider
from folio.embeddings.tokenizer import load_tokenizer
from folio.events.schemas import EventType
from folio.ingestion.chunking import Chunk, chunk_text
from folio.ingestion.extract import extract_isolated
from folio.ingestion.extracted import ExtractedText
from folio.jobs.errors import WorkerLost
from folio.jobs.kinds import INGEST_DOCUMENT
from folio.jobs.runner import JobContext, settled
from folio.llm.provider import Usage
from folio.models import Document, DocumentContent, DocumentStatus
from folio.search import languages
from folio.search.repository import SearchRepository
from folio.settings import IngestionSettings
from folio.usage.repository import EMBEDDING
from folio.usage.service import Meter

log = structlog.get_logger(__name__)

# Chunks embedded and written per step: bounds memory and gives progress a useful grain.
_EMBED_STEP = 64


class Ingestion:
    """The `ingest_document` job handler, with what it needs: storage, limits and the embedding model."""

    def __init__(
        self,
        settings: IngestionSettings,
        storage: Storage,
        embedder: Callable[[], EmbeddingProvider],
        meter: Meter,
        *,
        text_search_config: str = "english",
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.embedder = embedder
        self.meter = meter
        # The configuration of text whose language cannot be told (too short, mixed).
        self.text_search_config = text_search_config

    async def __call__(self, context: JobContext) -> None:
        document = await self._start(context)
        if document is None:
            return  # deleted since the job was queued: nothing to do

        async def failed(code: str, message: str) -> None:
            await self._set_status(context, DocumentStatus.FAILED, code, message)

        async def cancelled() -> None:
            await self._set_status(context, DocumentStatus.READY if document.version else DocumentStatus.PENDING)

        async with settled(context, failed=failed, cancelled=cancelled):
            await self._ingest(context, document)

    async def on_lost(self, context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            await self._mark(session, context, DocumentStatus.FAILED, WorkerLost.code, WorkerLost.message)

    async def _ingest(self, context: JobContext, document: Document) -> None:
        await context.progress(2, f"extracting {document.filename}", stage="extracting")
        extracted = await self._extract(context, document)
        extracted = replace(extracted, language=await anyio.to_thread.run_sync(languages.detect, extracted.text))
        config = languages.config_for(extracted.language, default=self.text_search_config)
        pages = len(extracted.pages)
        await context.progress(20, f"extracted {pages} page{'s' if pages != 1 else ''}", stage="chunking")
        chunks = await anyio.to_thread.run_sync(chunk_with_settings, extracted, self.settings)
        version = document.version + 1
        async with context.fenced() as session:
            # A previous attempt may have left part of this version behind.
            await DocumentRepository(session).delete_chunks(document.id, version=version)
        embedder = await anyio.to_thread.run_sync(self.embedder)
        for first in range(0, len(chunks), _EMBED_STEP):
            batch = chunks[first : first + _EMBED_STEP]
            vectors = await embedder.embed([chunk.text for chunk in batch])
            rows = [
                chunk_row(document.org_id, document.id, version, chunk, vector.tolist(), config=config)
                for chunk, vector in zip(batch, vectors, strict=True)
            ]
            async with context.fenced() as session:
                await DocumentRepository(session).insert_chunks(rows)
            done = first + len(batch)
            await context.progress(
                25 + 70 * done / len(chunks), f"embedding {done}/{len(chunks)} chunks", stage="embedding"
            )
        tokens = sum(chunk.token_count for chunk in chunks)
        await self.meter.record(context.principal, EMBEDDING, embedder.model, Usage(prompt_tokens=tokens))
        await self._publish(context, document, version, extracted, len(chunks))

    async def _extract(self, context: JobContext, document: Document) -> ExtractedText:
        if document.storage_key is None:  # a record: its text is stored, not in a file
            async with context.sessionmaker() as session:
                content = await DocumentRepository(session).content(context.principal, document.id)
            return ExtractedText.single_page(content.text if content else "")
        # An object store's file is copied here first: the extractors read files, in a process of their own.
        async with self.storage.local_copy(document.storage_key) as path:
            return await anyio.to_thread.run_sync(extract_isolated, path, document.kind, self.settings)

    async def _start(self, context: JobContext) -> Document | None:
        async with context.fenced() as session:
            document = await DocumentRepository(session).get(context.principal, _document_id(context), for_update=True)
            if document is not None:
                document.status = DocumentStatus.PROCESSING
                document.error_code = document.error_message = None
        return document

    async def _publish(
        self, context: JobContext, document: Document, version: int, extracted: ExtractedText, chunk_count: int
    ) -> None:
        """Make `version` the one searches see, in one transaction, and drop every other version."""
        async with context.fenced() as session:
            repository = DocumentRepository(session)
            live = await repository.get(context.principal, document.id, for_update=True)
            if live is None:
                await repository.delete_chunks(document.id)
                return
            if live.sha256 != document.sha256:
                # A record whose text a batch changed meanwhile: the batch indexes the new text.
                await repository.delete_chunks(document.id, version=version)
                return
            statistics = SearchRepository(session)
            if live.version:
                await statistics.count_version(live.org_id, live.id, live.version, sign=-1)
            await statistics.count_version(live.org_id, live.id, version, sign=1)
            live.version = version
            live.status = DocumentStatus.READY
            live.page_count = len(extracted.pages)
            live.char_count = len(extracted.text)
            live.chunk_count = chunk_count
            live.language = extracted.language
            live.processed_at = datetime.now(UTC)
            if extracted.title and live.title == live.filename:
                live.title = extracted.title[:500]
            await repository.save_content(
                DocumentContent(
                    document_id=document.id,
                    org_id=document.org_id,
                    version=version,
                    text=extracted.text,
                    pages=[[page.number, page.start, page.end] for page in extracted.pages],
                )
            )
            await repository.delete_chunks(document.id, except_version=version)
            emit_document(session, live, EventType.DOCUMENT_READY)
            await alerts.evaluate_indexed(session, org_id=live.org_id, document_ids=[live.id])
        await context.progress(100, f"ready: {chunk_count} chunks", stage="done")

    async def _set_status(
        self, context: JobContext, status: DocumentStatus, code: str | None = None, message: str | None = None
    ) -> None:
        async with context.fenced() as session:
            await self._mark(session, context, status, code, message)

    @staticmethod
    async def _mark(
        session: AsyncSession,
        context: JobContext,
        status: DocumentStatus,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        document = await DocumentRepository(session).get(context.principal, _document_id(context), for_update=True)
        if document is not None:
            document.status, document.error_code, document.error_message = status, code, message
            if status is DocumentStatus.FAILED:
                emit_document(session, document, EventType.DOCUMENT_FAILED)


def _document_id(context: JobContext) -> UUID:
    if context.subject_id is None:
        raise ValueError(f"job {context.job_id} of kind {INGEST_DOCUMENT} has no document")
    return context.subject_id


def chunk_with_settings(extracted: ExtractedText, settings: IngestionSettings) -> list[Chunk]:
    """The chunks of a text with the deployment's chunk size and overlap; CPU-bound, so off the event loop."""
    return chunk_text(
        extracted,
        tokenizer=load_tokenizer(),
        target_tokens=settings.chunk_tokens,
        overlap_tokens=settings.chunk_overlap,
    )


def chunk_row(
    org_id: UUID, document_id: UUID, version: int, chunk: Chunk, vector: list[float], *, config: str
) -> dict[str, Any]:
    """The `chunks` row of a chunk of a document's version, indexed with the text search configuration `config`."""
    return {
        "org_id": org_id,
        "document_id": document_id,
        "version": version,
        "ordinal": chunk.index,
        "text": chunk.text,
        "start_char": chunk.start,
        "end_char": chunk.end,
        "page_start": chunk.page_start,
        "page_end": chunk.page_end,
        "page_breaks": list(chunk.page_breaks),
        "token_count": chunk.token_count,
        "embedding": vector,
        "search_config": config,
        "search_text": languages.search_text(chunk.text),
    }
