"""Record batches: an uploaded file checked, then imported by a job, each valid row becoming a case."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.documents.multipart import UploadedFile
from folio.documents.storage import Storage
from folio.enrichment import service as enrichment
from folio.jobs import service as jobs
from folio.jobs.kinds import IMPORT_RECORDS
from folio.models import BatchFormat, RecordBatch, RecordBatchError
from folio.pagination import Paged, PageRequest
from folio.records.errors import BatchNotFound
from folio.records.repository import BatchRepository
from folio.records.rows import RecordMapping, RowReader, detect_format
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
    # Stored files have no extension: a .tsv name says tab here, or the delimiter would be guessed.
    tab = uploaded.filename.lower().endswith(".tsv")
    delimiter = options.delimiter or ("\t" if tab else None)

    def open_reader(path: Path) -> tuple[BatchFormat, str, str | None]:
        format = detect_format(path, uploaded.filename)
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
            return format, reader.encoding, reader.delimiter

    # Before the first statement: no connection is held while an object store sends the file.
    async with storage.local_copy(uploaded.stored.key) as path:
        format, encoding, delimiter = await anyio.to_thread.run_sync(open_reader, path)
    schema_id = None
    if options.enrich:
        schema = await enrichment.schema_or_default(session, principal=principal, schema_id=options.schema_id)
        schema_id = schema.id
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
