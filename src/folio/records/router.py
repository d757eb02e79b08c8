from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, status

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, PageDep, SessionDep, SettingsDep, StorageDep
from folio.documents.errors import FileTooLarge
from folio.enrichment.errors import EnrichmentSchemaNotFound
from folio.enrichment.schemas import EnrichmentRead
from folio.errors import Forbidden, ValidationFailed
from folio.pagination import MAX_LIMIT, Page, PageRequest
from folio.records import service
from folio.records.deps import BatchUpload
from folio.records.errors import (
    AssigneeNotMember,
    BatchNotFound,
    RecordFileInvalid,
    RecordMappingInvalid,
    RecordNotFound,
)
from folio.records.schemas import (
    BatchDetail,
    BatchErrorRead,
    BatchRead,
    RecordQueryParams,
    RecordRead,
    RecordsEnrich,
    RecordsEnrichAccepted,
    RecordUpdate,
)
from folio.summaries.errors import TemplateNotFound, TemplateWrongKind

router = APIRouter(prefix=f"{API_V1}/records", tags=["records"])
Reader = Annotated[Principal, requires(Scope.DOCUMENTS_READ)]
Writer = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]

_BATCH_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file", "mapping"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "CSV (or TSV) with a header, or JSONL.",
                    },
                    "mapping": {
                        "type": "string",
                        "description": "A JSON object from role to column: `text` is required; `external_id`, "
                        "`created_at`, `channel`, `customer`, `business_unit` and `title` are fields of the record; "
                        "any other role is kept in its metadata under that name.",
                        "example": '{"text": "message", "external_id": "ticket_id", "created_at": "date", '
                        '"channel": "source", "priority": "prio"}',
                    },
                    "delimiter": {
                        "type": "string",
                        "enum": [",", ";", "|", "tab"],
                        "description": "CSV delimiter; detected when not given.",
                    },
                    "enrich": {"type": "boolean", "default": True, "description": "Enrich new and changed records."},
                    "schema_id": {
                        "type": "string",
                        "format": "uuid",
                        "description": "The enrichment schema; your default one (else Case triage) when not given.",
                    },
                },
            },
            "encoding": {"file": {"contentType": "application/octet-stream"}},
        }
    },
}


@router.post(
    "/batches",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchRead,
    responses=authenticated(Forbidden, FileTooLarge, RecordMappingInvalid, RecordFileInvalid, EnrichmentSchemaNotFound),
    summary="Upload a CSV or JSONL batch of records",
    description=(
        "The file is streamed to storage, then its header is checked against `mapping` (422 at once when a mapped "
        "column is missing). A job (`job_id`) reads it row by row: each valid row becomes a record (a searchable "
        "document of type `record`), a row whose `external_id` the organization has updates that record instead, "
        "and an invalid row is reported with its line and reason while the others go on. New and changed records "
        "are then indexed and, unless `enrich=false`, enriched. Encodings (UTF-8 with or without BOM, UTF-16, "
        "Windows-1252…) and delimiters (`,` `;` tab `|`) are detected."
    ),
    openapi_extra={"requestBody": _BATCH_BODY},
)
async def upload_batch(
    principal: Writer, session: SessionDep, upload: BatchUpload, settings: SettingsDep, storage: StorageDep
) -> BatchRead:
    batch = await service.create_batch(
        session,
        principal=principal,
        storage=storage,
        uploaded=upload.files[0],
        options=upload.fields,
        limits=settings.records,
        max_attempts=settings.jobs.max_attempts,
    )
    return BatchRead.model_validate(batch)


@router.get(
    "/batches",
    response_model=Page[BatchRead],
    responses=authenticated(Forbidden),
    summary="List record batches, oldest first",
)
async def list_batches(principal: Reader, session: SessionDep, page: PageDep) -> Page[BatchRead]:
    batches = await service.page_batches(session, principal=principal, page=page)
    return batches.to_page(BatchRead.model_validate)


@router.get(
    "/batches/{batch_id}",
    response_model=BatchDetail,
    responses=authenticated(Forbidden, BatchNotFound),
    summary="A batch's status and counts, with its row errors (paged)",
)
async def get_batch(
    batch_id: UUID,
    principal: Reader,
    session: SessionDep,
    errors_limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Row errors per page.")] = 20,
    errors_cursor: Annotated[str | None, Query(max_length=64, description="`errors.next_cursor`.")] = None,
) -> BatchDetail:
    batch = await service.get_batch(session, principal=principal, batch_id=batch_id)
    found = await service.page_errors(
        session, principal=principal, batch_id=batch.id, page=PageRequest.from_cursor(errors_limit, errors_cursor)
    )
    errors = found.to_page(BatchErrorRead.model_validate)
    return BatchDetail.model_validate({**BatchRead.model_validate(batch).model_dump(), "errors": errors})


@router.get(
    "",
    response_model=Page[RecordRead],
    responses=authenticated(Forbidden, EnrichmentSchemaNotFound),
    summary="List records with filters, oldest first",
    description="Filters combine with AND. The enrichment filters (`sentiment`, `severity`, `category`, "
    "`subcategory`, `risk_flag`, `needs_review`, confidence bounds, `field=name:value`) look at the enrichment "
    "with `schema_id`, your default schema when it is not given.",
)
async def list_records(
    principal: Reader, session: SessionDep, query: Annotated[RecordQueryParams, Query()]
) -> Page[RecordRead]:
    views = await service.page_records(session, principal=principal, query=query, page=query.page())
    return views.to_page(_read)


@router.post(
    "/enrich",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RecordsEnrichAccepted,
    responses=authenticated(Forbidden, EnrichmentSchemaNotFound, TemplateNotFound, TemplateWrongKind),
    summary="Enrich every record the filters match, in one job",
    description="Records that are searchable (`index_status: ready`) and match the filters, oldest first, at most "
    "`limit` of them: `count` says how many the job enriches.",
)
async def enrich_records(
    body: RecordsEnrich, principal: Writer, session: SessionDep, settings: SettingsDep
) -> RecordsEnrichAccepted:
    job, count = await service.enrich_records(
        session,
        principal=principal,
        query=body.filters,
        schema_id=body.schema_id,
        template_id=body.template_id,
        instructions=body.instructions,
        limit=body.limit,
        max_attempts=settings.jobs.max_attempts,
    )
    return RecordsEnrichAccepted(job_id=job.id if job else None, count=count)


@router.get(
    "/{record_id}",
    response_model=RecordRead,
    responses=authenticated(Forbidden, RecordNotFound),
    summary="Get a record with its enrichments",
)
async def get_record(record_id: UUID, principal: Reader, session: SessionDep) -> RecordRead:
    return _read(await service.get_record(session, principal=principal, record_id=record_id))


@router.patch(
    "/{record_id}",
    response_model=RecordRead,
    responses=authenticated(Forbidden, RecordNotFound, AssigneeNotMember),
    summary="Work a record as a case: its status and assignee",
)
async def update_record(record_id: UUID, body: RecordUpdate, principal: Writer, session: SessionDep) -> RecordRead:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise ValidationFailed("Send `status`, `assigned_to` or both.")
    view = await service.update_record(session, principal=principal, record_id=record_id, changes=changes)
    return _read(view)


def _read(view: service.RecordView) -> RecordRead:
    record, document = view.record, view.document
    return RecordRead(
        id=record.document_id,
        external_id=record.external_id,
        title=document.title,
        text=view.text,
        channel=record.channel,
        customer=record.customer,
        business_unit=record.business_unit,
        occurred_at=record.occurred_at,
        metadata=document.meta,
        status=record.case_status,
        assigned_to=record.assigned_to,
        resolved_at=record.resolved_at,
        batch_id=record.batch_id,
        index_status=document.status,
        enrichments=[EnrichmentRead.of(item, name) for item, name in view.enrichments],
        created_at=document.created_at,
        updated_at=max(record.updated_at, document.updated_at),
    )
