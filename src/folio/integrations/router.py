from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Body, Query, Request, status
from fastapi.openapi.models import Example
from fastapi.responses import RedirectResponse

from folio.auth.deps import authenticated
from folio.auth.sso.errors import ReturnUrlNotAllowed
from folio.auth.sso.service import with_params
from folio.deps import API_V1, PageDep, SessionDep, SettingsDep
from folio.documents.errors import DocumentNotFound
from folio.error_handlers import error_responses
from folio.errors import Conflict, Forbidden, ValidationFailed
from folio.integrations import connect, publish, service
from folio.integrations.deps import Admin, Editor, LimitsDep, SourcesDep
from folio.integrations.errors import (
    ConnectStateInvalid,
    CredentialsRejected,
    IntegrationNameTaken,
    IntegrationNeedsReauth,
    IntegrationNotFound,
    InvalidIntegrationConfig,
    SourceUnavailable,
    SyncInProgress,
    TooManyIntegrations,
)
from folio.integrations.publish import CannotPublish
from folio.integrations.schemas import (
    CheckResult,
    ConnectStart,
    ConnectUrl,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationRead,
    IntegrationUpdate,
    PublicationRead,
    PublishRequest,
    SyncRead,
    SyncStarted,
)
from folio.models import Integration, IntegrationKind, SummaryPublication
from folio.outbound import OutboundURLForbidden
from folio.pagination import Page
from folio.plans.errors import PlanLimitReached
from folio.routing import Router
from folio.settings import Settings
from folio.summaries.errors import SummaryNotFound

router = Router(prefix=f"{API_V1}/integrations", tags=["integrations"])
_NO_STORE = {"Cache-Control": "no-store"}

_SYNC = (
    "A sync lists every item in scope at the source and fetches only those whose version changed since the last "
    "sync (Notion's edit time, Confluence's version number, Guru's modification time, a web page's ETag or "
    "Last-Modified); each becomes a document (`source_type` the kind, `source_url` its link at the source, "
    "`external_id`, `external_last_updated`) indexed as an upload is, a changed one re-indexed as a new version that "
    "replaces the old at once. Items the source no longer lists (deleted, or out of scope) are deleted here. Rate "
    "limits (429 with Retry-After) are waited out; credentials the source refuses make the integration "
    "`needs_reauth` (`integration.needs_reauth` event, and a notification to owners and admins)."
)
_EXAMPLES: dict[str, Example] = {
    "notion": {
        "summary": "A Notion workspace (an internal integration's secret)",
        "value": {
            "kind": "notion",
            "name": "Notion",
            "credentials": {"token": "ntn_0000000000000000000000000000000000000000000"},
            "sync_interval_minutes": 60,
        },
    },
    "confluence": {
        "summary": "Two Confluence spaces (an Atlassian API token)",
        "value": {
            "kind": "confluence",
            "name": "Engineering wiki",
            "config": {"site_url": "https://acme.atlassian.net", "space_keys": ["ENG", "OPS"]},
            "credentials": {"email": "ada@acme.example", "api_token": "ATATT3xFfGF0000000000"},
        },
    },
    "guru": {
        "summary": "Guru collections",
        "value": {
            "kind": "guru",
            "name": "Guru",
            "credentials": {"username": "ada@acme.example", "token": "00000000-0000-0000-0000-000000000000"},
        },
    },
    "web": {
        "summary": "A documentation site, crawled",
        "value": {
            "kind": "web",
            "name": "Docs site",
            "config": {"start_url": "https://docs.acme.example/", "max_pages": 200, "max_depth": 3},
            "sync_interval_minutes": 1440,
        },
    },
}


def _read(integration: Integration) -> IntegrationRead:
    return IntegrationRead.model_validate(
        {**_fields(integration), "has_credentials": integration.credentials_encrypted is not None}
    )


def _fields(integration: Integration) -> dict[str, object]:
    return {name: getattr(integration, name) for name in IntegrationRead.model_fields if name != "has_credentials"}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IntegrationCreated,
    responses=authenticated(
        Forbidden,
        InvalidIntegrationConfig,
        OutboundURLForbidden,
        TooManyIntegrations,
        PlanLimitReached,
        IntegrationNameTaken,
    ),
    summary="Connect a source (owners and admins)",
    description=(
        "The configuration is checked against the kind, the credentials are encrypted with the server's key ring "
        "and never returned (test them with `POST …/{id}/test`). At most FOLIO_INTEGRATIONS__MAX_PER_ORG per "
        f"organization, and the plan's integrations. {_SYNC}"
    ),
)
async def create_integration(
    body: Annotated[IntegrationCreate, Body(openapi_examples=_EXAMPLES)],
    principal: Admin,
    session: SessionDep,
    sources: SourcesDep,
    limits: LimitsDep,
) -> IntegrationCreated:
    integration, job = await service.create_integration(
        session,
        principal=principal,
        sources=sources,
        limits=limits,
        kind=body.kind,
        name=body.name,
        config=body.config,
        credentials=body.credentials,
        sync_interval_minutes=body.sync_interval_minutes,
        enabled=body.enabled,
        sync_now=body.sync_now,
    )
    return IntegrationCreated.model_validate(
        {**_read(integration).model_dump(), "sync_job_id": None if job is None else job.id}
    )


@router.get(
    "",
    response_model=Page[IntegrationRead],
    responses=authenticated(Forbidden),
    summary="List the organization's integrations (owners and admins)",
)
async def list_integrations(principal: Admin, session: SessionDep, page: PageDep) -> Page[IntegrationRead]:
    integrations = await service.page_integrations(session, principal=principal, page=page)
    return integrations.to_page(_read)


@router.get(
    "/{integration_id}",
    response_model=IntegrationRead,
    responses=authenticated(Forbidden, IntegrationNotFound),
    summary="Get an integration (owners and admins)",
)
async def get_integration(integration_id: UUID, principal: Admin, session: SessionDep) -> IntegrationRead:
    return _read(await service.get_integration(session, principal=principal, integration_id=integration_id))


@router.patch(
    "/{integration_id}",
    response_model=IntegrationRead,
    responses=authenticated(
        Forbidden, IntegrationNotFound, InvalidIntegrationConfig, OutboundURLForbidden, IntegrationNameTaken
    ),
    summary="Change an integration's name, scope, credentials, interval, or enable or disable it",
    description="Only the fields given change; new credentials make a `needs_reauth` integration active again.",
)
async def update_integration(
    integration_id: UUID,
    body: IntegrationUpdate,
    principal: Admin,
    session: SessionDep,
    sources: SourcesDep,
    limits: LimitsDep,
) -> IntegrationRead:
    integration = await service.get_integration(
        session, principal=principal, integration_id=integration_id, for_update=True
    )
    changed = await service.update_integration(
        session,
        principal=principal,
        sources=sources,
        limits=limits,
        integration=integration,
        changes=body.model_dump(exclude_unset=True),
    )
    return _read(changed)


@router.delete(
    "/{integration_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, IntegrationNotFound),
    summary="Remove an integration (its documents stay, as ordinary documents)",
)
async def delete_integration(integration_id: UUID, principal: Admin, session: SessionDep) -> None:
    integration = await service.get_integration(
        session, principal=principal, integration_id=integration_id, for_update=True
    )
    await service.delete_integration(session, principal=principal, integration=integration)


@router.post(
    "/{integration_id}/test",
    response_model=CheckResult,
    responses=authenticated(Forbidden, IntegrationNotFound),
    summary="Check the integration's credentials against its source",
    description=(
        "Calls the source now (no database connection is held meanwhile) and says whether the credentials work and "
        "what they reach; a refusal is `ok: false` with its code, never the source's own answer."
    ),
)
async def test_integration(
    integration_id: UUID, principal: Admin, session: SessionDep, sources: SourcesDep
) -> CheckResult:
    check = await service.check_integration(
        session, principal=principal, sources=sources, integration_id=integration_id
    )
    if check.error is None:
        return CheckResult(ok=True, reached=check.reached)
    return CheckResult(ok=False, code=check.error.code, message=check.error.detail_message)


@router.post(
    "/{integration_id}/sync",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SyncStarted,
    responses=authenticated(Forbidden, IntegrationNotFound, SyncInProgress, IntegrationNeedsReauth, Conflict),
    summary="Sync now",
    description=f"Starts a `sync_integration` job; follow it at `/api/v1/jobs/{{job_id}}` or live. {_SYNC}",
)
async def sync_integration(
    integration_id: UUID, principal: Admin, session: SessionDep, limits: LimitsDep
) -> SyncStarted:
    job = await service.start_sync(session, principal=principal, limits=limits, integration_id=integration_id)
    return SyncStarted(job_id=job.id)


@router.get(
    "/{integration_id}/syncs",
    response_model=Page[SyncRead],
    responses=authenticated(Forbidden, IntegrationNotFound),
    summary="The integration's sync history, newest first",
)
async def list_syncs(integration_id: UUID, principal: Admin, session: SessionDep, page: PageDep) -> Page[SyncRead]:
    syncs = await service.page_syncs(session, principal=principal, integration_id=integration_id, page=page)
    return syncs.to_page(SyncRead.model_validate)


@router.post(
    "/oauth/{kind}/start",
    response_model=ConnectUrl,
    responses=authenticated(Forbidden, InvalidIntegrationConfig, IntegrationNotFound, ReturnUrlNotAllowed),
    summary="Start connecting Notion or Confluence with OAuth (owners and admins)",
    description=(
        "Answers the source's authorization URL, to send the person's browser to. The source sends it back to "
        "`GET /api/v1/integrations/oauth/callback`, which creates the integration (or gives `integration_id` its "
        "new tokens) and starts its first sync. The attempt is single use, valid for FOLIO_SSO__FLOW_MINUTES, and "
        "bound to the person and organization that started it. The server needs the source's OAuth app "
        "(FOLIO_INTEGRATIONS__NOTION_OAUTH, FOLIO_INTEGRATIONS__CONFLUENCE_OAUTH), registered with that callback as "
        "its redirect URI."
    ),
)
async def start_connection(
    kind: IntegrationKind,
    body: ConnectStart,
    request: Request,
    principal: Admin,
    session: SessionDep,
    settings: SettingsDep,
    sources: SourcesDep,
    limits: LimitsDep,
) -> ConnectUrl:
    url = await connect.start(
        session,
        principal=principal,
        sources=sources,
        limits=limits,
        sso=settings.sso,
        kind=kind,
        redirect_uri=_callback_uri(request, settings),
        return_to=body.return_to,
        name=body.name,
        config=body.config,
        sync_interval_minutes=body.sync_interval_minutes,
        integration_id=body.integration_id,
    )
    return ConnectUrl(authorization_url=url)


@router.get(
    "/oauth/callback",
    status_code=status.HTTP_201_CREATED,
    response_model=IntegrationCreated,
    responses={
        303: {"description": "Back to `return_to`, with `integration_id` or `integration_error`."},
        **error_responses(
            ConnectStateInvalid, CredentialsRejected, SourceUnavailable, InvalidIntegrationConfig, ValidationFailed
        ),
    },
    summary="Where the source sends the browser back",
    description="Not called by API clients: the source's authorization server redirects the browser here.",
)
async def connection_callback(
    session: SessionDep,
    sources: SourcesDep,
    limits: LimitsDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    state: Annotated[str | None, Query(max_length=128)] = None,
    error: Annotated[str | None, Query(max_length=200, description="The source's OAuth error code.")] = None,
) -> IntegrationCreated | RedirectResponse:
    try:
        connected = await connect.callback(session, sources=sources, limits=limits, state=state, code=code, error=error)
    except connect.ConnectFailed as failure:
        if failure.return_to is None:
            raise failure.error from failure
        target = with_params(failure.return_to, integration_error=failure.error.code)
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER, headers=_NO_STORE)
    if connected.return_to is not None:
        target = with_params(connected.return_to, integration_id=str(connected.integration.id))
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER, headers=_NO_STORE)
    job_id = None if connected.job is None else connected.job.id
    return IntegrationCreated.model_validate({**_read(connected.integration).model_dump(), "sync_job_id": job_id})


def _callback_uri(request: Request, settings: Settings) -> str:
    path = f"{API_V1}/integrations/oauth/callback"
    base = settings.sso.public_url or str(request.base_url)
    return base.rstrip("/") + path


@router.post(
    "/{integration_id}/publish",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SyncStarted,
    responses=authenticated(
        Forbidden, IntegrationNotFound, SummaryNotFound, CannotPublish, IntegrationNeedsReauth, DocumentNotFound
    ),
    summary="Publish a summary back to the source (editors and up)",
    description=(
        "Starts a `publish_summary` job that writes the summary under the target: a toggle block at the end of a "
        "Notion page, a footer comment on a Confluence page, each tagged with the summary's id. Retried or asked "
        "again, it writes nothing new: the publication recorded (`GET …/publications`), or the one the source "
        "already carries, is the answer."
    ),
)
async def publish_summary(
    integration_id: UUID,
    body: PublishRequest,
    principal: Editor,
    session: SessionDep,
    sources: SourcesDep,
    limits: LimitsDep,
) -> SyncStarted:
    job = await publish.start_publish(
        session,
        principal=principal,
        sources=sources,
        summary_id=body.summary_id,
        integration_id=integration_id,
        target_id=body.target_id,
        max_attempts=limits.max_attempts,
    )
    return SyncStarted(job_id=job.id)


@router.get(
    "/{integration_id}/publications",
    response_model=list[PublicationRead],
    responses=authenticated(Forbidden, IntegrationNotFound),
    summary="Summaries published through the integration (the first 100), with their links",
)
async def list_publications(
    integration_id: UUID,
    principal: Editor,
    session: SessionDep,
    summary_id: Annotated[UUID | None, Query(description="Only this summary's.")] = None,
) -> list[SummaryPublication]:
    return await publish.publications(
        session, principal=principal, integration_id=integration_id, summary_id=summary_id
    )
