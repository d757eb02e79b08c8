from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Request, Response, status
from fastapi.responses import FileResponse

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.db import release
from folio.deps import API_V1, PageDep, SessionDep, SettingsDep, StorageDep
from folio.documents import service as documents
from folio.documents import web
from folio.documents.deps import DocumentUpload
from folio.documents.downloads import DOWNLOAD_RESPONSES, stored_file
from folio.documents.errors import (
    DocumentHasNoFile,
    DocumentNotFound,
    DocumentNotReady,
    FileTooLarge,
    FormTooLarge,
    StoredFileMissing,
    TooManyUrlImports,
    UnsupportedFileType,
    UrlFetchFailed,
)
from folio.documents.filetypes import MEDIA_TYPES
from folio.documents.multipart import UploadedFile
from folio.documents.repository import DocumentFilters
from folio.documents.schemas import (
    ChunkRead,
    DocumentContentRead,
    DocumentRead,
    DocumentUpdate,
    ImportUrl,
    PageSpanRead,
    UploadedDocument,
    UploadResponse,
)
from folio.documents.service import DocumentFields, Source
from folio.errors import Forbidden, NulCharacter
from folio.ingestion.extracted import FileKind
from folio.jobs.schemas import JobRead
from folio.models import Document, DocumentStatus, Job
from folio.outbound import OutboundPolicy, OutboundURLForbidden
from folio.pagination import Page
from folio.routing import Router
from folio.slots import Slots

router = Router(prefix=f"{API_V1}/documents", tags=["documents"])
Reader = Annotated[Principal, requires(Scope.DOCUMENTS_READ)]
Writer = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]

_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "title": "DocumentUploadForm",
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "minItems": 1,
                        "maxItems": 20,
                    },
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
    responses=authenticated(Forbidden, FileTooLarge, FormTooLarge, NulCharacter, UnsupportedFileType),
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
    principal: Writer,
    session: SessionDep,
    upload: DocumentUpload,
    settings: SettingsDep,
    storage: StorageDep,
    allow_duplicate: Annotated[bool, Query(description="Store the file even if its content exists.")] = False,
) -> UploadResponse:
    created = await documents.create_documents(
        session,
        principal=principal,
        storage=storage,
        files=upload.files,
        fields=upload.fields,
        allow_duplicate=allow_duplicate,
        max_attempts=settings.jobs.max_attempts,
        plans=settings.plans,
    )
    return _uploaded(created)


def _uploaded(created: list[documents.Created]) -> UploadResponse:
    return UploadResponse(
        items=[
            UploadedDocument(
                document=DocumentRead.model_validate(item.document), job_id=item.job_id, deduplicated=item.deduplicated
            )
            for item in created
        ]
    )


# URL imports running in this process, per organization: each holds an outbound connection and a task while a
# tenant-chosen server takes its time.
URL_IMPORTS = Slots(TooManyUrlImports)


@router.post(
    "/import-url",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=UploadResponse,
    responses=authenticated(
        Forbidden,
        FileTooLarge,
        NulCharacter,
        UnsupportedFileType,
        OutboundURLForbidden,
        UrlFetchFailed,
        TooManyUrlImports,
    ),
    summary="Import a web page or a file from a URL",
    description=(
        "The URL is fetched now, through the same guard as every address a tenant gives: a host that is or resolves "
        "to an internal address (loopback, private, link-local, cloud metadata…) is refused with "
        "`OUTBOUND_URL_FORBIDDEN`, as is every redirect (at most 5 are followed) that leads there. The body is capped "
        "at `FOLIO_MAX_UPLOAD_MB` (413). Its `Content-Type` names its kind (HTML, PDF, DOCX, Markdown, plain text; "
        "415 otherwise, or when the first bytes disagree); a server that does not answer, answers with an error "
        "status or sends nothing gives `URL_FETCH_FAILED`. Then it is a document like an upload (`source_type: "
        "web`, `source_url` the address after redirects, `external_last_updated` its `Last-Modified`), deduplicated "
        "by content unless `allow_duplicate`, with an ingestion job to follow. No database connection is held "
        "while the page is fetched. An organization may have `FOLIO_OUTBOUND__MAX_URL_IMPORTS_PER_ORG` imports "
        "running at once on one API process; one more answers 429 `TOO_MANY_URL_IMPORTS` with `Retry-After`."
    ),
)
async def import_url(
    body: ImportUrl, principal: Writer, session: SessionDep, settings: SettingsDep, storage: StorageDep
) -> UploadResponse:
    max_bytes = settings.max_upload_mb * 1024 * 1024
    policy = OutboundPolicy.from_settings(settings.outbound, max_response_bytes=max_bytes)
    with URL_IMPORTS.take(principal.org_id, settings.outbound.max_url_imports_per_org):
        fetched = await web.fetch(body.url, policy=policy, storage=storage, max_bytes=max_bytes)
    try:
        created = await documents.create_documents(
            session,
            principal=principal,
            storage=storage,
            files=[UploadedFile(fetched.filename, fetched.stored)],
            fields=DocumentFields(body.title, body.tags or [], body.metadata or {}),
            allow_duplicate=body.allow_duplicate,
            max_attempts=settings.jobs.max_attempts,
            plans=settings.plans,
            source=Source("web", fetched.url, fetched.last_modified),
        )
    except BaseException:
        await storage.delete(fetched.stored.key)
        raise
    return _uploaded(created)


@router.get(
    "/{document_id}",
    response_model=DocumentRead,
    responses=authenticated(Forbidden, DocumentNotFound),
    summary="Get a document and its ingestion status",
)
async def get_document(document_id: UUID, principal: Reader, session: SessionDep) -> Document:
    return await documents.get_document(session, principal=principal, document_id=document_id)


@router.get(
    "",
    response_model=Page[DocumentRead],
    responses=authenticated(Forbidden),
    summary="List documents, oldest first, with filters",
)
async def list_documents(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status: Annotated[DocumentStatus | None, Query(description="Only documents in this state.")] = None,
    kind: Annotated[FileKind | None, Query(alias="type", description="Only documents of this type.")] = None,
    tag: Annotated[list[str] | None, Query(description="Only documents with every one of these tags.")] = None,
    created_after: Annotated[datetime | None, Query(description="Created at or after (ISO 8601).")] = None,
    created_before: Annotated[datetime | None, Query(description="Created before (ISO 8601).")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Title contains this (case-insensitive).")] = None,
) -> Page[DocumentRead]:
    filters = DocumentFilters(
        status=status,
        kind=kind,
        tags=tuple(tag or ()),
        created_after=created_after,
        created_before=created_before,
        title=q,
    )
    found = await documents.page_documents(session, principal=principal, filters=filters, page=page)
    return found.to_page(DocumentRead.model_validate)


@router.patch(
    "/{document_id}",
    response_model=DocumentRead,
    responses=authenticated(Forbidden, DocumentNotFound),
    summary="Change a document's title, tags or metadata",
)
async def update_document(document_id: UUID, body: DocumentUpdate, principal: Writer, session: SessionDep) -> Document:
    return await documents.update_document(
        session,
        principal=principal,
        document_id=document_id,
        title=body.title,
        tags=body.tags,
        metadata=body.metadata,
    )


@router.delete(
    "/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden),
    summary="Delete a document, its file, chunks and pending jobs (again: still 204)",
)
async def delete_document(document_id: UUID, principal: Writer, session: SessionDep, storage: StorageDep) -> None:
    await documents.delete_document(session, principal=principal, storage=storage, document_id=document_id)


@router.get(
    "/{document_id}/content",
    response_model=DocumentContentRead,
    responses=authenticated(Forbidden, DocumentNotFound, DocumentNotReady),
    summary="The extracted text with its page boundaries",
)
async def get_content(document_id: UUID, principal: Reader, session: SessionDep) -> DocumentContentRead:
    content = await documents.get_content(session, principal=principal, document_id=document_id)
    return DocumentContentRead(
        document_id=content.document_id,
        version=content.version,
        text=content.text,
        pages=[PageSpanRead(number=number, start=start, end=end) for number, start, end in content.pages],
    )


@router.get(
    "/{document_id}/file",
    response_class=FileResponse,
    responses={
        **authenticated(Forbidden, DocumentNotFound, DocumentHasNoFile, StoredFileMissing),
        200: {"description": "The original bytes."},
        **DOWNLOAD_RESPONSES,
    },
    summary="Download the original file",
)
async def download_file(
    document_id: UUID, principal: Reader, request: Request, session: SessionDep, storage: StorageDep
) -> Response:
    document = await documents.get_document(session, principal=principal, document_id=document_id)
    if document.storage_key is None:
        raise DocumentHasNoFile()
    await release(session)  # the object store answers with no connection held
    return await stored_file(
        request,
        storage,
        document.storage_key,
        filename=document.filename,
        media_type=MEDIA_TYPES[document.kind],
        headers={"X-Content-Type-Options": "nosniff"},
    )


@router.get(
    "/{document_id}/chunks",
    response_model=Page[ChunkRead],
    responses=authenticated(Forbidden, DocumentNotFound),
    summary="The chunks of the document's live version, in order",
)
async def list_chunks(document_id: UUID, principal: Reader, session: SessionDep, page: PageDep) -> Page[ChunkRead]:
    chunks = await documents.page_chunks(session, principal=principal, document_id=document_id, page=page)
    return chunks.to_page(ChunkRead.model_validate)


@router.post(
    "/{document_id}/reindex",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobRead,
    responses=authenticated(Forbidden, DocumentNotFound),
    summary="Ingest again; the new version replaces the old one at once when it is ready",
)
async def reindex_document(document_id: UUID, principal: Writer, session: SessionDep, settings: SettingsDep) -> Job:
    return await documents.reindex(
        session, principal=principal, document_id=document_id, max_attempts=settings.jobs.max_attempts
    )
