from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, status

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, SessionDep
from folio.documents import service as documents
from folio.documents.errors import DocumentNotFound, FileTooLarge, UnsupportedFileType
from folio.documents.multipart import UploadLimits, read_upload
from folio.documents.schemas import DocumentRead, UploadedDocument, UploadResponse
from folio.documents.storage import Storage
from folio.errors import Forbidden
from folio.models import Document
from folio.settings import Settings

router = APIRouter(prefix=f"{API_V1}/documents", tags=["documents"])
Reader = Annotated[Principal, requires(Scope.DOCUMENTS_READ)]
Writer = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]

_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    "title": {"type": "string", "maxLength": 500, "description": "Used when one file is sent."},
                    "tags": {
                        "type": "string",
                        "description": 'Comma-separated, or a JSON array: ["contracts", "2026"]',
                    },
                    "metadata": {
                        "type": "string",
                        "description": 'A JSON object of at most 16 KiB: {"client": "Acme"}',
                    },
                },
            },
            "encoding": {"files": {"contentType": "application/octet-stream"}},
        }
    },
}


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadResponse,
    responses=authenticated(Forbidden, FileTooLarge, UnsupportedFileType),
    summary="Upload one or many files for ingestion",
    description=(
        "Files are streamed to storage and hashed on the way; one larger than `FOLIO_MAX_UPLOAD_MB` is refused with "
        "413 as soon as it passes the limit. PDF, DOCX, HTML, Markdown and plain text are accepted when their "
        "content agrees with their extension (415 otherwise). A file whose content the organization already has "
        "answers with that document and `deduplicated: true`, unless `allow_duplicate=true`. Each new document "
        "gets an ingestion job (`job_id`) whose progress `GET /api/v1/jobs/{job_id}` reports."
    ),
    openapi_extra={"requestBody": _UPLOAD_BODY},
)
async def upload_documents(
    request: Request,
    principal: Writer,
    session: SessionDep,
    allow_duplicate: Annotated[bool, Query(description="Store the file even if its content exists.")] = False,
) -> UploadResponse:
    settings: Settings = request.app.state.settings
    storage: Storage = request.app.state.storage
    limits = UploadLimits(max_file_bytes=settings.max_upload_mb * 1024 * 1024)
    form = await read_upload(request.stream(), request.headers.get("content-type", ""), storage, limits)
    try:
        created = await documents.create_documents(
            session,
            principal=principal,
            storage=storage,
            files=form.files,
            fields=documents.DocumentFields.parse(form.fields),
            allow_duplicate=allow_duplicate,
            max_attempts=settings.jobs.max_attempts,
        )
    except BaseException:
        for uploaded in form.files:
            await storage.delete(uploaded.stored.key)
        raise
    return UploadResponse(
        items=[
            UploadedDocument(
                document=DocumentRead.model_validate(item.document), job_id=item.job_id, deduplicated=item.deduplicated
            )
            for item in created
        ]
    )


@router.get(
    "/{document_id}",
    response_model=DocumentRead,
    responses=authenticated(Forbidden, DocumentNotFound),
    summary="Get a document and its ingestion status",
)
async def get_document(document_id: UUID, principal: Reader, session: SessionDep) -> Document:
    return await documents.get_document(session, principal=principal, document_id=document_id)
