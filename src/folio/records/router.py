from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, status

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, PageDep, SessionDep, SettingsDep, StorageDep
from folio.documents.errors import FileTooLarge
from folio.enrichment.errors import EnrichmentSchemaNotFound
from folio.errors import Forbidden
from folio.pagination import MAX_LIMIT, Page, PageRequest
from folio.records import service
from folio.records.deps import BatchUpload
from folio.records.errors import (
    BatchNotFound,
    RecordFileInvalid,
    RecordMappingInvalid,
)
from folio.records.schemas import (
    BatchDetail,
    BatchErrorRead,
    BatchRead,
)
from folio.routing import Router

# Batches are how cases arrive: their paths are the cases', and they come before `/cases/{ref}` in the app.
router = Router(prefix=f"{API_V1}/cases/batches", tags=["cases"])
Reader = Annotated[Principal, requires(Scope.CASES_READ)]
# Importing makes documents too: the upload needs documents:write besides.
Writer = Annotated[Principal, requires(Scope.CASES_WRITE)]

_BATCH_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "title": "CaseBatchForm",
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
                        "`created_at`, `channel`, `customer`, `business_unit` (the name of one of your business "
                        "units), `priority` (low, normal, high, urgent) and `title` are fields of the case; any other "
                        "role is kept in its metadata under that name.",
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
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=BatchRead,
    responses=authenticated(Forbidden, FileTooLarge, RecordMappingInvalid, RecordFileInvalid, EnrichmentSchemaNotFound),
    summary="Upload a CSV or JSONL batch of cases",
    description=(
        "The file is streamed to storage, then its header is checked against `mapping` (422 at once when a mapped "
        "column is missing). A job (`job_id`) reads it row by row: each valid row becomes a case (a searchable "
        "document of type `record`, with the next case number), a row whose `external_id` the organization has "
        "updates that case instead, and an invalid row is reported with its line and reason while the others go "
        "on. New and changed cases are then indexed and, unless `enrich=false`, enriched. Encodings (UTF-8 with or "
        "without BOM, UTF-16, Windows-1252…) and delimiters (`,` `;` tab `|`) are detected. Needs `cases:write` and "
        "`documents:write` (a case is a document)."
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
    "",
    response_model=Page[BatchRead],
    responses=authenticated(Forbidden),
    summary="List batches, oldest first",
)
async def list_batches(principal: Reader, session: SessionDep, page: PageDep) -> Page[BatchRead]:
    batches = await service.page_batches(session, principal=principal, page=page)
    return batches.to_page(BatchRead.model_validate)


@router.get(
    "/{batch_id}",
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
