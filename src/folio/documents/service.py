"""Documents: creating them from uploads (type check, dedup, ingestion job) and reading them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.documents.errors import DocumentNotFound, DocumentNotReady
from folio.documents.events import emit_document
from folio.documents.filenames import extension
from folio.documents.filetypes import SNIFF_BYTES, detect
from folio.documents.multipart import UploadedFile
from folio.documents.repository import DocumentFilters, DocumentRepository
from folio.documents.storage import Storage
from folio.effects import after_commit
from folio.events.outbox import actor_of
from folio.events.schemas import EventType
from folio.ingestion.extracted import FileKind
from folio.jobs import service as jobs
from folio.jobs.kinds import INGEST_DOCUMENT
from folio.models import Chunk, Document, DocumentContent, DocumentStatus, Job
from folio.pagination import Paged, PageRequest
from folio.plans import service as plans_service
from folio.search.repository import SearchRepository
from folio.settings import PlanSettings


@dataclass(frozen=True, slots=True)
class DocumentFields:
    """The upload's form fields beside its files."""

    title: str | None
    tags: list[str]
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a document's file came from, when it was not sent to the API (`Document.source_type`); a synced one
    names its integration, its item there and the item's version marker."""

    type: str
    url: str | None
    last_updated: datetime | None = None
    integration_id: UUID | None = None
    external_id: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class Created:
    document: Document
    job_id: UUID | None
    deduplicated: bool


async def create_documents(
    session: AsyncSession,
    *,
    principal: Principal,
    storage: Storage,
    files: Sequence[UploadedFile],
    fields: DocumentFields,
    allow_duplicate: bool,
    max_attempts: int,
    plans: PlanSettings,
    source: Source | None = None,
    kinds: Sequence[FileKind] | None = None,
) -> list[Created]:
    """A document and an ingestion job per file; a file whose content the organization already has answers
    with the existing document (its stored copy is dropped) unless `allow_duplicate`. Without a `source`, the files
    were uploaded. `kinds` are the files' kinds when the caller found them (`detect_kind`) before its transaction
    began; without them, they are found here, before the first statement.

    With `plans` enforced, all the files are refused (402 `PLAN_LIMIT_REACHED`) when the new documents among them
    would take the organization past its plan's documents or storage bytes; a file it already has adds nothing."""
    if kinds is None:
        # Before the first statement: no connection is held while an object store sends the files' first bytes.
        kinds = [await detect_kind(storage, uploaded) for uploaded in files]
    repository = DocumentRepository(session)
    # One read for the whole upload; a content sent twice in it becomes one document, the second its duplicate.
    existing = {} if allow_duplicate else await repository.by_hashes(principal, {f.stored.sha256 for f in files})
    if plans.enforce:
        adding = _new_files(files, existing, allow_duplicate=allow_duplicate)
        await plans_service.check_can_add_documents(
            session,
            plans=plans,
            org_id=principal.org_id,
            documents=len(adding),
            size_bytes=sum(uploaded.stored.size for uploaded in adding),
        )
    created: list[Created] = []
    for uploaded, kind in zip(files, kinds, strict=True):
        found = existing.get(uploaded.stored.sha256)
        if found is not None:
            await storage.delete(uploaded.stored.key)
            created.append(Created(found, None, deduplicated=True))
            continue
        document = Document(
            org_id=principal.org_id,
            created_by=principal.user_id,
            title=fields.title if fields.title and len(files) == 1 else uploaded.filename,
            filename=uploaded.filename,
            kind=kind,
            status=DocumentStatus.PENDING,
            tags=fields.tags,
            meta=fields.metadata,
            storage_key=uploaded.stored.key,
            size_bytes=uploaded.stored.size,
            sha256=uploaded.stored.sha256,
            source_type="upload" if source is None else source.type,
            source_url=None if source is None else source.url,
            external_last_updated=None if source is None else source.last_updated,
            integration_id=None if source is None else source.integration_id,
            external_id=None if source is None else source.external_id,
            external_version=None if source is None else source.version,
        )
        await repository.add(document)
        if not allow_duplicate:
            existing[document.sha256] = document
        emit_document(session, document, EventType.DOCUMENT_CREATED, actor_of(principal))
        job = await jobs.enqueue(
            session, principal=principal, kind=INGEST_DOCUMENT, max_attempts=max_attempts, subject_id=document.id
        )
        created.append(Created(document, job.id, deduplicated=False))
    return created


async def detect_kind(storage: Storage, uploaded: UploadedFile) -> FileKind:
    """The stored file's kind (UnsupportedFileType when its content and its name disagree). It reads the file from
    storage: call it with no transaction open."""
    # Only a DOCX is judged by more than its first bytes: its zip directory is at the end of the file.
    head = None if extension(uploaded.filename) == "docx" else SNIFF_BYTES
    async with storage.local_copy(uploaded.stored.key, head=head) as path:
        return await anyio.to_thread.run_sync(detect, path, uploaded.filename)


def _new_files(
    files: Sequence[UploadedFile], existing: Mapping[str, Document], *, allow_duplicate: bool
) -> list[UploadedFile]:
    """The files that would become documents: with duplicates refused, one per content the organization lacks."""
    if allow_duplicate:
        return list(files)
    by_hash = {uploaded.stored.sha256: uploaded for uploaded in files}
    return [uploaded for sha256, uploaded in by_hash.items() if sha256 not in existing]


async def replace_file(
    session: AsyncSession,
    *,
    principal: Principal,
    document_id: UUID,
    storage: Storage,
    uploaded: UploadedFile,
    kind: FileKind,
    title: str,
    metadata: dict[str, Any],
    source: Source,
    max_attempts: int,
) -> Created | None:
    """A synced document's item changed at its source: the new file replaces the old and is indexed as a new
    version (searches keep the old one until it is ready). When the file's content is the one held, only the title,
    metadata and version marker change, and the new copy goes (`deduplicated`). None: the document is gone.
    `kind` is the new file's (`detect_kind`, before the transaction).

    The old file is left to the sweep of orphaned files: an ingestion of it may still be reading it."""
    repository = DocumentRepository(session)
    held = await repository.get(principal, document_id)
    if held is None:
        await storage.delete(uploaded.stored.key)
        return None
    changed = held.sha256 != uploaded.stored.sha256
    if changed:
        # Jobs before the document, in the order a running ingestion locks them (see `delete_document`).
        await jobs.cancel_for_subject(session, principal=principal, subject_id=document_id)
    document = await repository.get(principal, document_id, for_update=True)
    if document is None:
        await storage.delete(uploaded.stored.key)
        return None
    document.title = title
    document.meta = metadata
    document.source_url = source.url
    document.external_last_updated = source.last_updated
    document.external_version = source.version
    if not changed:
        await storage.delete(uploaded.stored.key)
        return Created(document, None, deduplicated=True)
    document.kind = kind
    document.filename = uploaded.filename
    document.storage_key = uploaded.stored.key
    document.size_bytes = uploaded.stored.size
    document.sha256 = uploaded.stored.sha256
    await session.flush()
    job = await jobs.enqueue(
        session, principal=principal, kind=INGEST_DOCUMENT, max_attempts=max_attempts, subject_id=document.id
    )
    return Created(document, job.id, deduplicated=False)


async def get_document(session: AsyncSession, *, principal: Principal, document_id: UUID) -> Document:
    document = await DocumentRepository(session).get(principal, document_id)
    if document is None:
        raise DocumentNotFound()
    return document


async def page_documents(
    session: AsyncSession, *, principal: Principal, filters: DocumentFilters, page: PageRequest
) -> Paged[Document]:
    return await DocumentRepository(session).page(principal, page, *filters.where())


async def update_document(
    session: AsyncSession,
    *,
    principal: Principal,
    document_id: UUID,
    title: str | None,
    tags: list[str] | None,
    metadata: dict[str, Any] | None,
) -> Document:
    document = await DocumentRepository(session).get(principal, document_id, for_update=True)
    if document is None:
        raise DocumentNotFound()
    if title is not None:
        document.title = title
    if tags is not None:
        document.tags = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
    if metadata is not None:
        document.meta = metadata
    await session.flush()
    return document


async def delete_document(session: AsyncSession, *, principal: Principal, storage: Storage, document_id: UUID) -> None:
    """Removes the document, its content, chunks and file, and stops its jobs. Deleting twice is not an error.

    The file goes only once the deletion is committed: a request that fails later keeps the document whole."""
    # Jobs before the document: a running ingestion locks them in that order too (its lease fence, then the document).
    await jobs.cancel_for_subject(session, principal=principal, subject_id=document_id)
    repository = DocumentRepository(session)
    document = await repository.get(principal, document_id, for_update=True)
    if document is None:
        return
    storage_key = document.storage_key
    if document.version:
        await SearchRepository(session).count_version(document.org_id, document.id, document.version, sign=-1)
    emit_document(session, document, EventType.DOCUMENT_DELETED, actor_of(principal))
    await repository.delete(document)
    if storage_key is not None:
        after_commit(session, partial(storage.delete, storage_key))


async def reindex(session: AsyncSession, *, principal: Principal, document_id: UUID, max_attempts: int) -> Job:
    """Build a new version beside the live one; searches keep the old chunks until it is ready."""
    document = await get_document(session, principal=principal, document_id=document_id)
    await jobs.cancel_for_subject(session, principal=principal, subject_id=document.id)
    return await jobs.enqueue(
        session, principal=principal, kind=INGEST_DOCUMENT, max_attempts=max_attempts, subject_id=document.id
    )


async def get_content(session: AsyncSession, *, principal: Principal, document_id: UUID) -> DocumentContent:
    document = await get_document(session, principal=principal, document_id=document_id)
    content = await DocumentRepository(session).content(principal, document.id)
    if content is None:
        raise DocumentNotReady(details={"status": document.status.value})
    return content


async def page_chunks(
    session: AsyncSession, *, principal: Principal, document_id: UUID, page: PageRequest
) -> Paged[Chunk]:
    document = await get_document(session, principal=principal, document_id=document_id)
    return await DocumentRepository(session).page_chunks(principal, document, page)
