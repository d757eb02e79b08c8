from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Body, Query, Request, Response, status
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.auth.deps import CurrentPrincipal, authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.cases.errors import ViewFiltersInvalid, ViewNotFound
from folio.db import release
from folio.deps import (
    API_V1,
    EmbedderDep,
    PageDep,
    SessionDep,
    SessionmakerDep,
    SettingsDep,
    StorageDep,
    client_address,
    rate_limit,
)
from folio.documents.downloads import DOWNLOAD_RESPONSES, stored_file
from folio.documents.errors import StoredFileMissing
from folio.documents.storage import Storage
from folio.enrichment.errors import EnrichmentSchemaNotFound
from folio.error_handlers import error_responses
from folio.errors import Forbidden, RateLimitExceeded, ValidationFailed
from folio.exports import service
from folio.exports.errors import (
    ExportExpired,
    ExportNotFound,
    ExportNotReady,
    TooManyExportJobs,
    TooManyExportStreams,
)
from folio.exports.formats import MEDIA_TYPES
from folio.exports.schemas import (
    JOB_EXAMPLES,
    AuditExportQuery,
    CaseExportQuery,
    DocumentExportQuery,
    ExportJobCreate,
    ExportOptions,
    ExportRead,
    SearchExport,
    SourceFilters,
    SummaryExportQuery,
)
from folio.exports.sources import Searching
from folio.models import Export, ExportSource
from folio.pagination import Page
from folio.ratelimit import Policy
from folio.routing import Router
from folio.settings import Settings

router = Router(prefix=f"{API_V1}/exports", tags=["exports"])
CaseReader = Annotated[Principal, requires(Scope.CASES_READ)]
DocumentReader = Annotated[Principal, requires(Scope.DOCUMENTS_READ)]
Admin = Annotated[Principal, requires(Scope.ADMIN)]
Searcher = Annotated[Principal, requires(Scope.SEARCH)]

# A file's bytes are never shown as a page of this origin, nor kept by a cache; a link's token stays in its URL.
_PRIVATE = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
_FILE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The export as an attachment (`Content-Disposition`), in its format's media type.",
        "content": {media_type.split(";")[0]: {} for media_type in MEDIA_TYPES.values()},
    }
}
_STREAM_ERRORS = (Forbidden, TooManyExportStreams)
_STREAMED = (
    "The rows are read page by page (`FOLIO_EXPORTS__PAGE_ROWS` rows, each page in a short transaction of its own) "
    "and sent as they are read, so memory stays flat and no database connection waits on a slow client; they are "
    "not one snapshot: a row changed meanwhile is exported as its page found it. CSV, JSON Lines and Markdown "
    "start at once; an XLSX file is written whole before its first byte (a workbook is a zip), so export many rows "
    "as XLSX with a job (`POST /api/v1/exports`). Text that could start a spreadsheet formula (`=`, `+`, `-`, `@`, "
    "tab, carriage return) gets a leading `'` in CSV and XLSX. Each export is recorded in the audit log "
    "(`export.created`) and announced to you (`export.created` event)."
)


def _attachment(streamed: service.Streamed) -> StreamingResponse:
    return StreamingResponse(
        streamed.body,
        media_type=streamed.media_type,
        headers={**_PRIVATE, "Content-Disposition": f'attachment; filename="{streamed.filename}"'},
    )


async def _stream(
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    source: ExportSource,
    filters: SourceFilters,
    options: ExportOptions,
    searching: Searching | None = None,
) -> StreamingResponse:
    streamed = await service.stream(
        session,
        principal=principal,
        source=source,
        filters=filters,
        format=options.format,
        bom=options.bom,
        sessionmaker=sessionmaker,
        settings=settings.exports,
        searching=searching,
    )
    return _attachment(streamed)


@router.get(
    "/cases",
    response_class=StreamingResponse,
    responses={
        **_FILE,
        **authenticated(*_STREAM_ERRORS, EnrichmentSchemaNotFound, ViewNotFound, ViewFiltersInvalid),
    },
    summary="Export cases with their enrichment (streamed)",
    description="Every filter of `GET /api/v1/cases` (and `view`), with `format` and `bom`. Columns: the case's "
    "fields, its unit and assignee by name, `overdue`, its metadata as JSON, and its enrichment by the schema "
    "`schema_id` (your default one when not given): `enrichment_status`, `enrichment_confidence`, "
    "`enrichment_needs_review`, then each of the schema's fields as `enrichment.<field>` (those it requires in its "
    "order, then the others by name). Members limited to "
    "business units export only their units' cases. " + _STREAMED,
)
async def export_cases(
    principal: CaseReader,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    query: Annotated[CaseExportQuery, Query()],
) -> StreamingResponse:
    return await _stream(session, sessionmaker, settings, principal, ExportSource.CASES, query, query)


@router.get(
    "/documents",
    response_class=StreamingResponse,
    responses={**_FILE, **authenticated(*_STREAM_ERRORS)},
    summary="Export documents' metadata (streamed)",
    description="The filters of `GET /api/v1/documents` (`status`, `type`, `tag`, `created_after`, "
    "`created_before`, `q`), with `format` and `bom`: each document's title, file name, type, state, tags, "
    "metadata, size, hash and counts, not its text. " + _STREAMED,
)
async def export_documents(
    principal: DocumentReader,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    query: Annotated[DocumentExportQuery, Query()],
) -> StreamingResponse:
    return await _stream(session, sessionmaker, settings, principal, ExportSource.DOCUMENTS, query, query)


@router.get(
    "/summaries",
    response_class=StreamingResponse,
    responses={**_FILE, **authenticated(*_STREAM_ERRORS)},
    summary="Export summaries (streamed)",
    description="The filters of `GET /api/v1/summaries` (`document_id`, `template_id`, `status`), with `format` "
    "and `bom`: each summary with its text, document, template, model and tokens. " + _STREAMED,
)
async def export_summaries(
    principal: DocumentReader,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    query: Annotated[SummaryExportQuery, Query()],
) -> StreamingResponse:
    return await _stream(session, sessionmaker, settings, principal, ExportSource.SUMMARIES, query, query)


@router.get(
    "/audit",
    response_class=StreamingResponse,
    responses={**_FILE, **authenticated(*_STREAM_ERRORS)},
    summary="Export the audit log, newest first (streamed; owners and admins)",
    description="The filters of `GET /api/v1/audit` (`action`, `actor_user_id`, `target_type`, `target_id`, "
    "`from`, `to`), with `format` and `bom`. Owners, admins and `admin` API keys only. " + _STREAMED,
)
async def export_audit(
    principal: Admin,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    query: Annotated[AuditExportQuery, Query()],
) -> StreamingResponse:
    return await _stream(session, sessionmaker, settings, principal, ExportSource.AUDIT, query, query)


@router.post(
    "/search",
    response_class=StreamingResponse,
    responses={**_FILE, **authenticated(*_STREAM_ERRORS)},
    summary="Export a search's hits, best first",
    description="The body of `POST /api/v1/search` (without paging), with `limit` (up to 1000, the search's own "
    "depth), `format` and `bom`. The search runs once, as deep as asked (it is logged for analytics with the "
    "source `export`); each hit carries its rank, scores, document, pages, highlighted snippet and chunk text. "
    "Text that could start a spreadsheet formula gets a leading `'` in CSV and XLSX; the export is recorded in the "
    "audit log.",
)
async def export_search(
    body: SearchExport,
    principal: Searcher,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
    embedder: EmbedderDep,
) -> StreamingResponse:
    searching = Searching(embedder.get, settings.search)
    return await _stream(session, sessionmaker, settings, principal, ExportSource.SEARCH, body, body, searching)


# Export jobs.


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExportRead,
    responses=authenticated(Forbidden, TooManyExportJobs, EnrichmentSchemaNotFound, ViewNotFound, ViewFiltersInvalid),
    summary="Export in the background, into a file behind an expiring link",
    description="For large exports. A job (`job_id`, with progress at `GET /api/v1/jobs/{id}`) writes the file; "
    "once `status` is `ready`, `GET /api/v1/exports/{id}/file` downloads it with your credentials, and "
    "`download_url` without any, until `expires_at` (`FOLIO_EXPORTS__LINK_HOURS`, 24 by default, after it was "
    "written), when the file and the export are deleted. `filters` are the source's list filters, as "
    "the streamed exports take them (a saved view's are read now). The job reads no more than you could when you "
    "asked, nor than you can when it runs; a file is only ever whole: a failed attempt leaves none and is retried. "
    f"Your organization may have `FOLIO_EXPORTS__MAX_JOBS_PER_ORG` export jobs queued or running at once (429 "
    f"`{TooManyExportJobs.code}` beyond). Recorded in the audit log.",
)
async def create_export(
    body: Annotated[ExportJobCreate, Body(openapi_examples=JOB_EXAMPLES, title="ExportJobCreate")],
    principal: CurrentPrincipal,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> ExportRead:
    export = await service.create_job(
        session,
        principal=principal,
        source=body.source,
        filters=body.filters,
        format=body.format,
        bom=body.bom,
        settings=settings.exports,
        max_attempts=settings.jobs.max_attempts,
    )
    return _read(export, request, settings.auth.jwt_secret.get_secret_value())


@router.get(
    "",
    response_model=Page[ExportRead],
    responses=authenticated(),
    summary="Your export jobs, newest first",
    description="The exports you asked for (an API key: those it asked for), until they expire.",
)
async def list_exports(
    principal: CurrentPrincipal, request: Request, session: SessionDep, settings: SettingsDep, page: PageDep
) -> Page[ExportRead]:
    found = await service.page_exports(session, principal=principal, page=page)
    secret = settings.auth.jwt_secret.get_secret_value()
    return found.to_page(lambda export: _read(export, request, secret))


@router.get(
    "/{export_id}",
    response_model=ExportRead,
    responses=authenticated(ExportNotFound),
    summary="An export job of yours",
)
async def get_export(
    export_id: UUID, principal: CurrentPrincipal, request: Request, session: SessionDep, settings: SettingsDep
) -> ExportRead:
    export = await service.get_export(session, principal=principal, export_id=export_id)
    return _read(export, request, settings.auth.jwt_secret.get_secret_value())


@router.delete(
    "/{export_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=authenticated(ExportNotFound),
    summary="Delete an export: its job stops, its file and link are gone",
)
async def delete_export(
    export_id: UUID, principal: CurrentPrincipal, session: SessionDep, storage: StorageDep
) -> Response:
    await service.delete_export(session, principal=principal, export_id=export_id, storage=storage)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{export_id}/file",
    response_class=FileResponse,
    responses={
        **_FILE,
        **DOWNLOAD_RESPONSES,
        **authenticated(ExportNotFound, ExportNotReady, ExportExpired, StoredFileMissing),
    },
    summary="Download an export's file",
    description="With your credentials; 409 `EXPORT_NOT_READY` while the job runs, 410 `EXPORT_EXPIRED` once it "
    "expired. Recorded in the audit log (`export.downloaded`).",
)
async def download_export(
    export_id: UUID, principal: CurrentPrincipal, request: Request, session: SessionDep, storage: StorageDep
) -> Response:
    return await _file(
        request, await service.file_of(session, principal=principal, export_id=export_id), session, storage
    )


@router.get(
    "/{export_id}/download",
    response_class=FileResponse,
    responses={
        **_FILE,
        **DOWNLOAD_RESPONSES,
        **error_responses(
            ExportNotFound, ExportNotReady, ExportExpired, RateLimitExceeded, ValidationFailed, StoredFileMissing
        ),
    },
    summary="Download an export's file by its link (no authentication)",
    description="The `download_url` of a ready export: the token signs the export and its expiry, and is compared "
    "in constant time. A wrong token, or an export whose requester has left the organization, answers 404 "
    "`EXPORT_NOT_FOUND`; after `expires_at`, 410 `EXPORT_EXPIRED`. Each visit counts against the client's "
    "address (the anonymous rate limit) and is recorded in the audit log (`export.downloaded`).",
)
async def download_export_by_link(
    export_id: UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    token: Annotated[str, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
) -> Response:
    await rate_limit(request, Policy.ANONYMOUS, client_address(request))
    key = service.link_key(settings.auth.jwt_secret.get_secret_value())
    download = await service.open_link(session, key=key, export_id=export_id, token=token)
    return await _file(request, download, session, storage)


async def _file(request: Request, download: service.Download, session: AsyncSession, storage: Storage) -> Response:
    await release(session)  # the download is recorded; the object store answers with no connection held
    return await stored_file(
        request,
        storage,
        download.key,
        filename=download.filename,
        media_type=MEDIA_TYPES[download.format],
        headers={**_PRIVATE, "Content-Security-Policy": "sandbox"},
    )


def _read(export: Export, request: Request, secret: str) -> ExportRead:
    token = service.link_of(service.link_key(secret), export, service.now())
    url = None
    if token is not None:
        url = f"{request.url_for('download_export_by_link', export_id=str(export.id))}?token={token}"
    return ExportRead(
        id=export.id,
        source=export.source,
        format=export.format,
        bom=export.bom,
        filters=export.filters,
        status=export.status,
        job_id=export.job_id,
        filename=export.filename,
        rows=export.rows,
        size_bytes=export.size_bytes,
        error_code=export.error_code,
        error_message=export.error_message,
        created_at=export.created_at,
        finished_at=export.finished_at,
        expires_at=export.expires_at,
        download_url=url,
    )
