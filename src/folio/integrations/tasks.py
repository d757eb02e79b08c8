"""The `sync_integration` job: list the source, fetch what changed, delete what went, record the sync.

No transaction is open while the source is called or a file is written: each item's document is created or
replaced in a short transaction of its own, fenced by the job's lease, so a retried attempt (or one that took over
after a worker died) finds the items done so far already current and fetches none of them again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from folio.documents import service as documents
from folio.documents.filenames import display_name
from folio.documents.filetypes import media_type_of
from folio.documents.multipart import UploadedFile
from folio.documents.service import DocumentFields, Source
from folio.documents.storage import Storage, StoredFile, save
from folio.errors import FolioError
from folio.events.outbox import emit
from folio.events.schemas import EventType, IntegrationData
from folio.inbox.system import notify_integration_needs_reauth
from folio.integrations.connector import Connector, Content, Item
from folio.integrations.errors import CredentialsRejected, ItemGone, SourceUnavailable
from folio.integrations.repository import Held, IntegrationRepository, SyncRepository
from folio.integrations.service import Limits, schedule_due
from folio.integrations.sources import Renewed, Sources
from folio.jobs.errors import Transient, WorkerLost
from folio.jobs.runner import JobContext, settled
from folio.llm.crypto import CredentialUnreadable
from folio.models import Integration, IntegrationStatus, IntegrationSync, SyncStatus
from folio.settings import Settings

log = structlog.get_logger(__name__)

# Progress is reported (and cancellation noticed) every this many items listed.
PROGRESS_EVERY = 50
# The failed items a sync keeps, with their error; the count keeps going.
MAX_ERRORS_KEPT = 100
_DELETE_STEP = 100


@dataclass
class Tally:
    listed: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Set when the listing stopped at the server's limit: what it did not reach is not deleted.
    truncated: bool = False
    requests: int = 0
    seen: set[str] = field(default_factory=set)

    def fail(self, item: Item, error: FolioError) -> None:
        self.failed += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(
                {
                    "external_id": item.external_id,
                    "title": item.title,
                    "code": error.code,
                    "message": error.detail_message,
                }
            )


@dataclass(frozen=True, slots=True)
class _Begun:
    integration: Integration
    held: dict[str, Held]
    sync_id: UUID


class SyncIntegration:
    def __init__(self, sources: Sources, storage: Storage, settings: Settings) -> None:
        self.sources = sources
        self.storage = storage
        self.settings = settings

    async def __call__(self, context: JobContext) -> None:
        begun = await self._begin(context)
        if begun is None:
            return
        tally = Tally()

        async def failed(code: str, message: str) -> None:
            await self._end(context, begun, tally, error=(code, message))

        async def cancelled() -> None:
            await self._end(context, begun, tally, error=("JOB_CANCELLED", "The sync was cancelled."))

        async with settled(context, failed=failed, cancelled=cancelled):
            try:
                await self._pull(context, begun, tally)
            except SourceUnavailable as error:
                raise Transient(error) from error
            if not tally.truncated:
                await self._delete_unlisted(context, begun, tally)
            await self._end(context, begun, tally)

    async def on_lost(self, context: JobContext) -> None:
        """The job's workers kept dying: its sync is over, failed, and the integration says so."""
        async with context.sessionmaker() as session:
            sync = await SyncRepository(session).of_job(context.job_id)
            integration = (
                None
                if sync is None
                else await IntegrationRepository(session).get(context.principal, sync.integration_id)
            )
        if sync is not None and integration is not None:
            begun = _Begun(integration, {}, sync.id)
            await self._end(context, begun, Tally(), error=(WorkerLost.code, WorkerLost.message), fenced=False)

    async def _begin(self, context: JobContext) -> _Begun | None:
        async with context.fenced() as session:
            integration = await IntegrationRepository(session).get(context.principal, _integration_id(context))
            if integration is None or not integration.enabled:
                return None
            syncs = SyncRepository(session)
            sync = await syncs.of_job(context.job_id)
            if sync is None:
                sync = IntegrationSync(org_id=integration.org_id, integration_id=integration.id, job_id=context.job_id)
                await syncs.add(sync)
            held = await IntegrationRepository(session).held(integration.id)
        return _Begun(integration, held, sync.id)

    async def _pull(self, context: JobContext, begun: _Begun, tally: Tally) -> None:
        try:
            credentials = self.sources.credentials(begun.integration)
        except CredentialUnreadable as exc:
            raise CredentialsRejected("No encryption key of the server decrypts the stored credentials.") from exc
        http, connector = self.sources.open(
            begun.integration, credentials, keep_renewed(context, self.sources, begun.integration.id)
        )
        async with http:
            try:
                await self._each(context, begun, connector, tally)
            finally:
                tally.requests = http.requests

    async def _each(self, context: JobContext, begun: _Begun, connector: Connector, tally: Tally) -> None:
        versions = {external_id: held.version or "" for external_id, held in begun.held.items()}
        async for item in _limited(connector.listing(versions), self.sources.settings.max_items, tally):
            tally.seen.add(item.external_id)
            if tally.listed % PROGRESS_EVERY == 0:
                await context.progress(
                    min(90, tally.listed // PROGRESS_EVERY), f"listed {tally.listed} items", stage="syncing"
                )
            held = begun.held.get(item.external_id)
            if held is not None and held.version == item.version:
                continue
            try:
                content = item.content or await connector.fetch(item)
                await self._store(context, begun, item, content, held, tally)
            except ItemGone:
                tally.seen.discard(item.external_id)
            except (CredentialsRejected, SourceUnavailable):
                raise
            except FolioError as error:
                tally.fail(item, error)

    async def _store(
        self, context: JobContext, begun: _Begun, item: Item, content: Content, held: Held | None, tally: Tally
    ) -> None:
        filename = display_name(content.filename)
        stored = await self._save(content, filename)
        uploaded = UploadedFile(filename, stored)
        source = Source(
            type=begun.integration.kind.value,
            url=item.url,
            last_updated=item.updated_at,
            integration_id=begun.integration.id,
            external_id=item.external_id,
            version=item.version,
        )
        title = item.title[:500] or uploaded.filename
        try:
            # Before the transaction: finding the kind reads the file back from storage (an object store's, over
            # the network).
            kind = await documents.detect_kind(self.storage, uploaded)
            async with context.fenced() as session:
                replaced = None
                if held is not None:
                    replaced = await documents.replace_file(
                        session,
                        principal=context.principal,
                        document_id=held.document_id,
                        storage=self.storage,
                        uploaded=uploaded,
                        kind=kind,
                        title=title,
                        metadata=content.metadata,
                        source=source,
                        max_attempts=self.settings.jobs.max_attempts,
                    )
                if replaced is None:
                    await documents.create_documents(
                        session,
                        principal=context.principal,
                        storage=self.storage,
                        files=[uploaded],
                        fields=DocumentFields(title=title, tags=[], metadata=content.metadata),
                        allow_duplicate=True,
                        max_attempts=self.settings.jobs.max_attempts,
                        plans=self.settings.plans,
                        source=source,
                        kinds=[kind],
                    )
        except BaseException:
            await self.storage.delete(stored.key)
            raise
        if replaced is None:
            tally.created += 1
        else:
            tally.updated += 1

    async def _save(self, content: Content, filename: str) -> StoredFile:
        async def chunks() -> AsyncIterator[bytes]:
            yield content.body

        return await save(
            self.storage,
            chunks(),
            max_bytes=self.settings.integrations.max_item_bytes,
            filename=filename,
            media_type=media_type_of(filename),
        )

    async def _delete_unlisted(self, context: JobContext, begun: _Begun, tally: Tally) -> None:
        """The documents of items the source no longer lists (deleted there, or out of the scope now)."""
        gone = [held.document_id for external_id, held in begun.held.items() if external_id not in tally.seen]
        for first in range(0, len(gone), _DELETE_STEP):
            async with context.fenced() as session:
                for document_id in gone[first : first + _DELETE_STEP]:
                    await documents.delete_document(
                        session, principal=context.principal, storage=self.storage, document_id=document_id
                    )
            tally.deleted += len(gone[first : first + _DELETE_STEP])
            context.raise_if_cancelled()

    async def _end(
        self,
        context: JobContext,
        begun: _Begun,
        tally: Tally,
        *,
        error: tuple[str, str] | None = None,
        fenced: bool = True,
    ) -> None:
        """Record the sync's outcome; `fenced=False` only for a job whose lease is already gone (`on_lost`)."""
        now = datetime.now(UTC)
        async with context.fenced() if fenced else _unfenced(context) as session:
            sync = await SyncRepository(session).get(context.principal, begun.sync_id, for_update=True)
            integration = await IntegrationRepository(session).get(
                context.principal, begun.integration.id, for_update=True
            )
            if sync is None or integration is None:
                return
            sync.status = SyncStatus.FAILED if error else SyncStatus.SUCCEEDED
            sync.finished_at = now
            sync.listed, sync.created, sync.updated = tally.listed, tally.created, tally.updated
            sync.deleted, sync.failed, sync.errors = tally.deleted, tally.failed, tally.errors
            sync.requests = tally.requests
            if error:
                sync.error_code, sync.error_message = error[0], error[1][:2000]
            elif tally.truncated:
                sync.error_code = "INTEGRATION_TOO_MANY_ITEMS"
                sync.error_message = (
                    f"The source lists more than {self.settings.integrations.max_items} items; the rest were not "
                    "synced and nothing was deleted."
                )
            integration.last_synced_at = now
            if integration.sync_interval_minutes and integration.enabled:
                integration.next_sync_at = now + timedelta(minutes=integration.sync_interval_minutes)
            if error and error[0] == CredentialsRejected.code:
                integration.status = IntegrationStatus.NEEDS_REAUTH
                integration.status_message = error[1][:500]
                _emit(session, integration, EventType.INTEGRATION_NEEDS_REAUTH, sync, message=error[1])
                await notify_integration_needs_reauth(session, integration)
                return
            integration.status = IntegrationStatus.FAILING if error else IntegrationStatus.ACTIVE
            integration.status_message = error[1][:500] if error else None
            _emit(session, integration, EventType.INTEGRATION_SYNCED, sync, message=error[1] if error else None)


def keep_renewed(context: JobContext, sources: Sources, integration_id: UUID) -> Renewed:
    """What stores the tokens an OAuth refresh replaced during a job, in a transaction fenced by its lease."""

    async def renewed(credentials: dict[str, Any]) -> None:
        async with context.fenced() as session:
            row = await IntegrationRepository(session).get(context.principal, integration_id, for_update=True)
            if row is not None:
                row.credentials_encrypted = sources.encrypt(credentials)

    return renewed


@asynccontextmanager
async def _unfenced(context: JobContext) -> AsyncIterator[AsyncSession]:
    async with context.sessionmaker() as session, session.begin():
        yield session


async def _limited(items: AsyncIterator[Item], limit: int, tally: Tally) -> AsyncIterator[Item]:
    async for item in items:
        if tally.listed >= limit:
            tally.truncated = True
            return
        tally.listed += 1
        yield item


def _emit(
    session: AsyncSession, integration: Integration, type: EventType, sync: IntegrationSync, *, message: str | None
) -> None:
    emit(
        session,
        org_id=integration.org_id,
        type=type,
        subject_id=integration.id,
        data=IntegrationData(
            name=integration.name,
            kind=integration.kind.value,
            status=integration.status.value,
            sync_id=sync.id,
            created=sync.created,
            updated=sync.updated,
            deleted=sync.deleted,
            failed=sync.failed,
            message=message,
        ),
    )


def _integration_id(context: JobContext) -> UUID:
    if context.subject_id is None:
        raise ValueError(f"job {context.job_id} of kind {context.kind} has no integration")
    return context.subject_id


class ScheduleSyncs:
    """The periodic `integrations.schedule` job: a sync of every integration that is due."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    async def __call__(self, context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            started = await schedule_due(session, limits=self.limits, moment=datetime.now(UTC))
        await context.progress(100, f"started {started} syncs")
