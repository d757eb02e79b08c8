"""Exports: streamed in the response, or written by a job into a file behind an expiring link.

Every export is recorded when it is asked for, in the transaction of the request: an `export.created` audit entry
(source, format, filters) and an `export.created` event for its requester. An export's content is its requester's:
nobody else lists, reads or downloads it, except through the download link the requester holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.audit.service import AuditAction, audit
from folio.auth.principal import Principal
from folio.db import new_id
from folio.documents.storage import Storage
from folio.effects import after_commit
from folio.events.outbox import Audience, actor_of, emit
from folio.events.schemas import EventType, ExportData, Visibility
from folio.exports.errors import ExportExpired, ExportNotFound, ExportNotReady, TooManyExportJobs, TooManyExportStreams
from folio.exports.formats import EXTENSIONS, MEDIA_TYPES
from folio.exports.pipeline import Tally, encoded
from folio.exports.repository import ExportRepository
from folio.exports.schemas import CaseExportFilters, SourceFilters
from folio.exports.sources import Searching, check_scope, reader_for, resolved
from folio.exports.sql import Bounds, Shape
from folio.jobs import service as jobs
from folio.jobs.kinds import WRITE_EXPORT
from folio.models import Export, ExportFormat, ExportSource, ExportStatus
from folio.pagination import Paged, PageRequest
from folio.repository import lock_org
from folio.settings import ExportSettings
from folio.slots import Slots

_TARGET: Final = "export"
_LINK_CONTEXT: Final = b"folio export download links"
_RETRY_AFTER: Final = {"Retry-After": "5"}


def now() -> datetime:
    """The clock of expiry (tests move it)."""
    return datetime.now(UTC)


def shape_of(format: ExportFormat) -> Shape:
    return Shape.LINES if format is ExportFormat.CSV else Shape.VALUES


def bounds_of(settings: ExportSettings) -> Bounds:
    return Bounds(rows=settings.page_rows, budget=settings.page_kb * 1024)


def filename_of(source: ExportSource, format: ExportFormat, at: datetime) -> str:
    return f"{source.value}-{at:%Y%m%d-%H%M%S}.{EXTENSIONS[format]}"


def stored_filters(filters: BaseModel) -> dict[str, Any]:
    """The filters as an export keeps them (and its audit entry shows them): those given, by their query names."""
    return filters.model_dump(mode="json", by_alias=True, exclude_defaults=True)


async def _announce(
    session: AsyncSession,
    principal: Principal,
    *,
    export_id: UUID,
    source: ExportSource,
    format: ExportFormat,
    bom: bool,
    filters: dict[str, Any],
    streamed: bool,
) -> None:
    """The audit entry and the event of an export asked for."""
    await audit(
        session,
        org_id=principal.org_id,
        action=AuditAction.EXPORT_CREATED,
        actor=principal,
        target_type=_TARGET,
        target_id=export_id,
        details={"source": source.value, "format": format.value, "bom": bom, "streamed": streamed, "filters": filters},
    )
    emit(
        session,
        org_id=principal.org_id,
        type=EventType.EXPORT_CREATED,
        subject_id=export_id,
        data=ExportData(source=source.value, format=format.value, streamed=streamed),
        actor=actor_of(principal),
        audience=audience_of(principal.user_id),
    )


def audience_of(user_id: UUID | None) -> Audience:
    """The requester alone. An operator's key has no member: its exports' events go to webhooks only."""
    return Audience(Visibility.RECIPIENT, recipient_id=user_id)


# Streamed exports.


# Streamed exports running in this process, per organization.
STREAMS = Slots(TooManyExportStreams)


@dataclass(frozen=True, slots=True)
class Streamed:
    filename: str
    media_type: str
    body: AsyncIterator[bytes]


async def stream(
    session: AsyncSession,
    *,
    principal: Principal,
    source: ExportSource,
    filters: SourceFilters,
    format: ExportFormat,
    bom: bool,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: ExportSettings,
    searching: Searching | None = None,
) -> Streamed:
    """An export sent as the response: checked and recorded in the request's transaction, then read page by page
    while it is sent. Its rows are read as the pages go, not as one snapshot."""
    filters = await resolved(session, principal=principal, filters=filters)
    reader = await reader_for(
        session, principal=principal, source=source, filters=filters, shape=shape_of(format), searching=searching
    )
    export_id = new_id()
    stored = stored_filters(filters)
    slot = STREAMS.take(principal.org_id, settings.max_streams_per_org)
    try:
        await _announce(
            session,
            principal,
            export_id=export_id,
            source=source,
            format=format,
            bom=bom,
            filters=stored,
            streamed=True,
        )
    except BaseException:
        slot.release()
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            async for piece in encoded(
                reader, sessionmaker, bounds_of(settings), format=format, bom=bom, tally=Tally()
            ):
                yield piece
        finally:
            slot.release()

    generator = body()
    # A response that is never sent (its transaction failed to commit) never starts the body: its slot is given back
    # when the body is dropped.
    weakref.finalize(generator, slot.release)
    return Streamed(filename_of(source, format, now()), MEDIA_TYPES[format], generator)


# Export jobs.


async def create_job(
    session: AsyncSession,
    *,
    principal: Principal,
    source: ExportSource,
    filters: SourceFilters,
    format: ExportFormat,
    bom: bool,
    settings: ExportSettings,
    max_attempts: int,
) -> Export:
    """An export written by a job. The filters are checked now (and a saved view read now), so that a mistake
    answers this request rather than failing the job later."""
    check_scope(principal, source)
    filters = await resolved(session, principal=principal, filters=filters)
    if isinstance(filters, CaseExportFilters):
        await reader_for(
            session, principal=principal, source=source, filters=filters, shape=shape_of(format), searching=None
        )
    repository = ExportRepository(session)
    await lock_org(session, principal.org_id)
    if await repository.count_active(principal.org_id) >= settings.max_jobs_per_org:
        raise TooManyExportJobs(details={"limit": settings.max_jobs_per_org}, headers=_RETRY_AFTER)
    at = now()
    stored = stored_filters(filters)
    export = Export(
        id=new_id(),
        org_id=principal.org_id,
        created_by=principal.user_id,
        api_key_id=principal.api_key_id,
        source=source,
        format=format,
        filters=stored,
        bom=bom,
        scopes=sorted(principal.scopes),
        units=None if principal.units is None else sorted(principal.units),
        status=ExportStatus.QUEUED,
        filename=filename_of(source, format, at),
        expires_at=at + timedelta(hours=settings.link_hours),
    )
    await repository.add(export)
    job = await jobs.enqueue(
        session,
        principal=principal,
        kind=WRITE_EXPORT,
        max_attempts=max_attempts,
        payload={"export_id": str(export.id)},
        subject_id=export.id,
    )
    export.job_id = job.id
    await _announce(
        session,
        principal,
        export_id=export.id,
        source=source,
        format=format,
        bom=bom,
        filters=stored,
        streamed=False,
    )
    await session.flush()
    return export


async def page_exports(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[Export]:
    return await ExportRepository(session).page_newest_first(principal, page)


async def get_export(
    session: AsyncSession, *, principal: Principal, export_id: UUID, for_update: bool = False
) -> Export:
    export = await ExportRepository(session).get(principal, export_id, for_update=for_update)
    if export is None:
        raise ExportNotFound()
    return export


async def delete_export(session: AsyncSession, *, principal: Principal, export_id: UUID, storage: Storage) -> None:
    """The export, its file (once the deletion commits) and its job (cancelled if it still runs)."""
    export = await get_export(session, principal=principal, export_id=export_id, for_update=True)
    await jobs.cancel_for_subject(session, principal=principal, subject_id=export.id)
    key = export.storage_key
    await ExportRepository(session).delete(export)
    if key is not None:

        async def delete_file() -> None:
            await storage.delete(key)

        after_commit(session, delete_file)


@dataclass(frozen=True, slots=True)
class Download:
    key: str
    format: ExportFormat
    filename: str


def downloadable(export: Export, at: datetime) -> Download:
    """The export's file, or why it cannot be downloaded."""
    if export.status is not ExportStatus.READY or export.storage_key is None:
        raise ExportNotReady(details={"status": export.status.value})
    if export.expires_at <= at:
        raise ExportExpired(details={"expired_at": export.expires_at.isoformat()})
    return Download(export.storage_key, export.format, export.filename)


async def file_of(session: AsyncSession, *, principal: Principal, export_id: UUID) -> Download:
    """The requester's export, ready to download; the download is recorded."""
    export = await get_export(session, principal=principal, export_id=export_id)
    download = downloadable(export, now())
    await _downloaded(session, export, principal, via="api")
    return download


# Download links.


def link_key(secret: str) -> bytes:
    """The key of download links, derived from the server's signing secret (changing it ends every link)."""
    return hmac.new(secret.encode(), _LINK_CONTEXT, hashlib.sha256).digest()


def link_token(key: bytes, export: Export) -> str:
    """The token of an export's link: it signs the export and its expiry, so it ends when the export does."""
    message = f"{export.id}:{export.expires_at.isoformat()}".encode()
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode().rstrip("=")


def link_of(key: bytes, export: Export, at: datetime) -> str | None:
    """The token, for an export that can be downloaded now."""
    if export.status is not ExportStatus.READY or export.expires_at <= at:
        return None
    return link_token(key, export)


async def open_link(session: AsyncSession, *, key: bytes, export_id: UUID, token: str) -> Download:
    """The export a link names, when its token is the one this server signed for it (compared in constant time),
    it has not expired, and its requester still may read it. The download is recorded (an anonymous visitor)."""
    repository = ExportRepository(session)
    export = await repository.get_any(export_id)
    if export is None or not hmac.compare_digest(token.encode(), link_token(key, export).encode()):
        raise ExportNotFound()
    at = now()
    download = downloadable(export, at)
    if not await repository.requester_present(export, at):
        raise ExportNotFound()
    await _downloaded(session, export, None, via="link")
    return download


async def _downloaded(session: AsyncSession, export: Export, principal: Principal | None, *, via: str) -> None:
    await audit(
        session,
        org_id=export.org_id,
        action=AuditAction.EXPORT_DOWNLOADED,
        actor=principal,
        target_type=_TARGET,
        target_id=export.id,
        details={"via": via, "source": export.source.value, "format": export.format.value, "rows": export.rows},
    )
