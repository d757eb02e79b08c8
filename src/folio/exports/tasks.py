"""The `exports.write` job (an export into a stored file) and the periodic `exports.prune` (expired exports deleted
with their files)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.members import member_principal
from folio.auth.principal import Principal, Scope
from folio.documents.storage import Storage, StoredFile
from folio.embeddings.provider import EmbeddingProvider
from folio.errors import Forbidden
from folio.events.outbox import emit
from folio.events.schemas import EventType, ExportData
from folio.exports import service
from folio.exports.formats import MEDIA_TYPES
from folio.exports.pipeline import Tally, encoded
from folio.exports.readers import Reader
from folio.exports.repository import ExportRepository
from folio.exports.schemas import FILTERS_OF
from folio.exports.sources import Searching, reader_for
from folio.jobs.runner import JobContext, settled
from folio.models import Export, ExportSource, ExportStatus
from folio.settings import ExportSettings, SearchSettings

# Expired exports deleted per transaction.
_PRUNE_STEP = 500


class WriteExport:
    """The `exports.write` handler. The file becomes the export's only once it is whole: a failed or cancelled
    attempt leaves none (the storage writer keeps a partial file apart and removes it), and a retry starts over."""

    def __init__(
        self,
        settings: ExportSettings,
        storage: Storage,
        embedder: Callable[[], EmbeddingProvider],
        search: SearchSettings,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.embedder = embedder
        self.search = search

    async def __call__(self, context: JobContext) -> None:
        export_id = UUID(context.payload["export_id"])

        async def failed(code: str, message: str) -> None:
            await self._ended(context, export_id, ExportStatus.FAILED, code, message[:2000])

        async def cancelled() -> None:
            await self._ended(context, export_id, ExportStatus.CANCELLED)

        async with settled(context, failed=failed, cancelled=cancelled):
            async with context.fenced() as session:
                started = await _start(session, context, export_id)
            if started is None:
                return  # deleted since it was asked for, or written by an earlier attempt
            export, principal = started
            # A transaction of its own: a search commits its log entry; the pages are read in theirs.
            async with context.sessionmaker() as session:
                reader = await reader_for(
                    session,
                    principal=principal,
                    source=export.source,
                    filters=FILTERS_OF[export.source].model_validate(export.filters),
                    shape=service.shape_of(export.format),
                    searching=await self._searching(export),
                )
                total = await reader.count(session)
                await session.commit()
            stored, tally = await self._write(context, export, reader, total)
        await self._finish(context, export_id, stored, tally)

    async def on_lost(self, context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            await _end(session, UUID(context.payload["export_id"]), ExportStatus.FAILED, "WORKER_LOST", None)

    async def _searching(self, export: Export) -> Searching | None:
        if export.source is not ExportSource.SEARCH:
            return None
        # Loading the model blocks: a worker thread does it.
        embedder = await anyio.to_thread.run_sync(self.embedder)
        return Searching(lambda: embedder, self.search)

    async def _write(self, context: JobContext, export: Export, reader: Reader, total: int) -> tuple[StoredFile, Tally]:
        async def progress(rows: int) -> None:
            await context.progress(
                min(99, 99 * rows / total) if total else 99, f"{rows} of {total} rows", stage="writing"
            )

        tally = Tally()
        writer = await self.storage.writer(
            max_bytes=self.settings.max_file_mb * 1024 * 1024,
            filename=export.filename,
            media_type=MEDIA_TYPES[export.format],
        )
        try:
            async for piece in encoded(
                reader,
                context.sessionmaker,
                service.bounds_of(self.settings),
                format=export.format,
                bom=export.bom,
                tally=tally,
                progress=progress,
            ):
                await writer.write(piece)
        except BaseException:
            await writer.abort()
            raise
        return await writer.commit(), tally

    async def _finish(self, context: JobContext, export_id: UUID, stored: StoredFile, tally: Tally) -> None:
        async with context.fenced() as session:
            export = await ExportRepository(session).get_any(export_id, for_update=True)
            kept = export is not None and export.status is ExportStatus.RUNNING
            if export is not None and kept:
                at = service.now()
                export.status = ExportStatus.READY
                export.storage_key = stored.key
                export.rows = tally.rows
                export.size_bytes = stored.size
                export.finished_at = at
                export.expires_at = at + timedelta(hours=self.settings.link_hours)
                _ready(session, export)
        if not kept:  # deleted or cancelled while it was written: nobody will read the file
            await self.storage.delete(stored.key)
        await context.progress(100, f"{tally.rows} rows", stage="done")

    async def _ended(
        self,
        context: JobContext,
        export_id: UUID,
        status: ExportStatus,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        async with context.fenced() as session:
            await _end(session, export_id, status, code, message)


async def _start(session: AsyncSession, context: JobContext, export_id: UUID) -> tuple[Export, Principal] | None:
    """The export, marked running, and who it reads as; None when there is nothing to write."""
    repository = ExportRepository(session)
    export = await repository.get_any(export_id, for_update=True)
    if export is None or export.org_id != context.principal.org_id or not export.status.active:
        return None
    principal = await requester(session, export)
    export.status = ExportStatus.RUNNING
    return export, principal


async def _end(
    session: AsyncSession, export_id: UUID, status: ExportStatus, code: str | None, message: str | None
) -> None:
    export = await ExportRepository(session).get_any(export_id, for_update=True)
    if export is not None and export.status.active:
        export.status, export.error_code, export.error_message = status, code, message
        export.finished_at = service.now()


def _ready(session: AsyncSession, export: Export) -> None:
    emit(
        session,
        org_id=export.org_id,
        type=EventType.EXPORT_READY,
        subject_id=export.id,
        data=ExportData(
            source=export.source.value,
            format=export.format.value,
            streamed=False,
            rows=export.rows,
            size_bytes=export.size_bytes,
            expires_at=export.expires_at,
        ),
        audience=service.audience_of(export.created_by),
    )


async def requester(session: AsyncSession, export: Export) -> Principal:
    """Who the job reads as: no more than the request could read, nor than its member can read now."""
    if not await ExportRepository(session).requester_present(export, service.now()):
        raise Forbidden("The export's requester can no longer read this organization's data.")
    known = {scope.value for scope in Scope}
    asked = Principal(
        org_id=export.org_id,
        scopes=frozenset(Scope(scope) for scope in export.scopes if scope in known),
        user_id=export.created_by,
        api_key_id=export.api_key_id,
        units=None if export.units is None else frozenset(export.units),
    )
    if export.created_by is None:  # an operator's key: no member to narrow it by
        return asked
    member = await member_principal(session, org_id=export.org_id, user_id=export.created_by)
    if member is None:
        raise Forbidden("The export's requester is no longer a member.")
    return replace(
        asked, scopes=asked.scopes & member.scopes, role=member.role, units=_narrower(asked.units, member.units)
    )


def _narrower(first: frozenset[UUID] | None, second: frozenset[UUID] | None) -> frozenset[UUID] | None:
    """The units both restrictions allow (None: every unit)."""
    if first is None:
        return second
    return first if second is None else first & second


class PruneExports:
    """The periodic `exports.prune`: expired exports deleted with their files, a step at a time."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def __call__(self, context: JobContext) -> None:
        deleted = 0
        while True:
            async with context.fenced() as session:
                repository = ExportRepository(session)
                expired = await repository.expired(service.now(), _PRUNE_STEP)
                keys = [export.storage_key for export in expired if export.storage_key is not None]
                await repository.delete_many([export.id for export in expired])
            for key in keys:
                await self.storage.delete(key)
            deleted += len(expired)
            if len(expired) < _PRUNE_STEP:
                break
        await context.progress(100, f"deleted {deleted} expired exports")
