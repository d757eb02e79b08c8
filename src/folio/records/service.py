"""Record batches (an uploaded file checked, then imported by a job) and records (read, filtered, worked as cases)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.documents.multipart import UploadedFile
from folio.documents.storage import Storage
from folio.enrichment import service as enrichment
from folio.events.outbox import actor_of, emit
from folio.events.schemas import EventType, RecordData
from folio.jobs import service as jobs
from folio.jobs.kinds import IMPORT_RECORDS
from folio.models import CaseStatus, Document, Enrichment, Job, Record, RecordBatch, RecordBatchError
from folio.orgs import service as orgs
from folio.pagination import Paged, PageRequest
from folio.records.errors import AssigneeNotMember, BatchNotFound, RecordNotFound
from folio.records.repository import BatchRepository, RecordFilters, RecordRepository
from folio.records.rows import RecordMapping, RowReader, detect_format
from folio.records.schemas import RecordQuery
from folio.settings import RecordSettings


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """The form fields of a batch upload beside its file."""

    mapping: RecordMapping
    delimiter: str | None
    enrich: bool
    schema_id: UUID | None


async def create_batch(
    session: AsyncSession,
    *,
    principal: Principal,
    storage: Storage,
    uploaded: UploadedFile,
    options: BatchOptions,
    limits: RecordSettings,
    max_attempts: int,
) -> RecordBatch:
    """Check the file's header against the mapping now (422 at once, not a failed job), then start the import."""
    schema_id = None
    if options.enrich:
        schema = await enrichment.schema_or_default(session, principal=principal, schema_id=options.schema_id)
        schema_id = schema.id
    path = storage.local_path(uploaded.stored.key)
    format = await anyio.to_thread.run_sync(detect_format, path, uploaded.filename)

    # Stored files have no extension: a .tsv name says tab here, or the delimiter would be guessed.
    tab = uploaded.filename.lower().endswith(".tsv")
    delimiter = options.delimiter or ("\t" if tab else None)

    def open_reader() -> tuple[str, str | None]:
        # Opening reads the file's first MiB and its header row, both bounded; the rows are the job's to read.
        with RowReader(
            path,
            format,
            options.mapping,
            delimiter=delimiter,
            max_text_chars=limits.max_text_chars,
            max_row_chars=limits.max_row_chars,
            max_row_lines=limits.max_row_lines,
        ) as reader:
            return reader.encoding, reader.delimiter

    encoding, delimiter = await anyio.to_thread.run_sync(open_reader)
    batch = RecordBatch(
        org_id=principal.org_id,
        created_by=principal.user_id,
        filename=uploaded.filename,
        format=format,
        storage_key=uploaded.stored.key,
        size_bytes=uploaded.stored.size,
        mapping=options.mapping.as_json(),
        delimiter=delimiter,
        encoding=encoding,
        enrich=options.enrich,
        schema_id=schema_id,
    )
    await BatchRepository(session).add(batch)
    job = await jobs.enqueue(
        session, principal=principal, kind=IMPORT_RECORDS, max_attempts=max_attempts, subject_id=batch.id
    )
    batch.job_id = job.id
    await session.flush()
    return batch


async def get_batch(session: AsyncSession, *, principal: Principal, batch_id: UUID) -> RecordBatch:
    batch = await BatchRepository(session).get(principal, batch_id)
    if batch is None:
        raise BatchNotFound()
    return batch


async def page_batches(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[RecordBatch]:
    return await BatchRepository(session).page(principal, page)


async def page_errors(
    session: AsyncSession, *, principal: Principal, batch_id: UUID, page: PageRequest
) -> Paged[RecordBatchError]:
    return await BatchRepository(session).page_errors(principal, batch_id, page)


@dataclass(frozen=True, slots=True)
class RecordView:
    record: Record
    document: Document
    text: str
    enrichments: list[tuple[Enrichment, str]]


async def filters_of(session: AsyncSession, *, principal: Principal, query: RecordQuery) -> RecordFilters:
    filters = RecordFilters(
        batch_id=query.batch_id,
        case_status=query.status,
        assigned_to=query.assigned_to,
        unassigned=query.unassigned,
        business_unit=query.business_unit,
        channel=query.channel,
        customer=query.customer,
        external_id=query.external_id,
        occurred_after=query.occurred_after,
        occurred_before=query.occurred_before,
        created_after=query.created_after,
        created_before=query.created_before,
        enrichment=query.enrichment(),
        needs_review=query.needs_review,
        min_confidence=query.min_confidence,
        max_confidence=query.max_confidence,
    )
    if not filters.on_enrichment:
        return filters
    schema = await enrichment.schema_or_default(session, principal=principal, schema_id=query.schema_id)
    return replace(filters, schema_id=schema.id)


async def page_records(
    session: AsyncSession, *, principal: Principal, query: RecordQuery, page: PageRequest
) -> Paged[RecordView]:
    filters = await filters_of(session, principal=principal, query=query)
    found = await RecordRepository(session).page(principal, filters, page)
    return Paged(await _views(session, principal, found.items), found.next_cursor)


async def get_record(session: AsyncSession, *, principal: Principal, record_id: UUID) -> RecordView:
    found = await RecordRepository(session).get(principal, record_id)
    if found is None:
        raise RecordNotFound()
    return (await _views(session, principal, [found]))[0]


async def update_record(
    session: AsyncSession, *, principal: Principal, record_id: UUID, changes: dict[str, Any]
) -> RecordView:
    """Apply `status` and `assigned_to` when present in `changes` (an explicit null assignee unassigns)."""
    found = await RecordRepository(session).get(principal, record_id, for_update=True)
    if found is None:
        raise RecordNotFound()
    record, _ = found
    changed: list[str] = []
    if "assigned_to" in changes:
        assignee = changes["assigned_to"]
        if assignee is not None and not await orgs.is_member(session, org_id=principal.org_id, user_id=assignee):
            raise AssigneeNotMember(details={"assigned_to": str(assignee)})
        if assignee != record.assigned_to:
            record.assigned_to = assignee
            changed.append("assigned_to")
    status = changes.get("status")
    if status is not None and status is not record.case_status:
        record.case_status = status
        record.resolved_at = datetime.now(UTC) if status is CaseStatus.RESOLVED else None
        changed.append("status")
    if changed:
        data = RecordData(fields=changed, case_status=record.case_status.value, assigned_to=record.assigned_to)
        emit(
            session,
            org_id=record.org_id,
            type=EventType.RECORD_UPDATED,
            subject_id=record.document_id,
            data=data,
            actor=actor_of(principal),
        )
    await session.flush()
    return await get_record(session, principal=principal, record_id=record_id)


async def enrich_records(
    session: AsyncSession,
    *,
    principal: Principal,
    query: RecordQuery,
    schema_id: UUID | None,
    template_id: UUID | None,
    instructions: str | None,
    limit: int,
    max_attempts: int,
) -> tuple[Job | None, int]:
    """One job enriching every searchable record the filters match (at most `limit`)."""
    schema = await enrichment.schema_or_default(session, principal=principal, schema_id=schema_id)
    await enrichment.check_template(session, principal=principal, template_id=template_id)
    filters = await filters_of(session, principal=principal, query=query)
    document_ids = await RecordRepository(session).matching_ids(principal, filters, limit)
    job = await enrichment.request(
        session,
        principal=principal,
        document_ids=document_ids,
        schema=schema,
        max_attempts=max_attempts,
        template_id=template_id,
        instructions=instructions,
    )
    return job, len(document_ids)


async def _views(
    session: AsyncSession, principal: Principal, rows: Sequence[tuple[Record, Document]]
) -> list[RecordView]:
    ids = [record.document_id for record, _ in rows]
    texts = await RecordRepository(session).texts(ids)
    enrichments: dict[UUID, list[tuple[Enrichment, str]]] = {document_id: [] for document_id in ids}
    for item, name in await enrichment.of_documents(session, principal=principal, document_ids=ids):
        enrichments[item.document_id].append((item, name))
    return [
        RecordView(record, document, texts.get(record.document_id, ""), enrichments[record.document_id])
        for record, document in rows
    ]
