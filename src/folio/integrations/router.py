from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, status
from fastapi.openapi.models import Example

from folio.auth.deps import authenticated
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Conflict, Forbidden
from folio.integrations import service
from folio.integrations.deps import Admin, LimitsDep, SourcesDep
from folio.integrations.errors import (
    IntegrationNameTaken,
    IntegrationNeedsReauth,
    IntegrationNotFound,
    InvalidIntegrationConfig,
    SyncInProgress,
    TooManyIntegrations,
)
from folio.integrations.schemas import (
    CheckResult,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationRead,
    IntegrationUpdate,
    SyncRead,
    SyncStarted,
)
from folio.models import Integration
from folio.pagination import Page
from folio.plans.errors import PlanLimitReached

router = APIRouter(prefix=f"{API_V1}/integrations", tags=["integrations"])

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
        Forbidden, InvalidIntegrationConfig, TooManyIntegrations, PlanLimitReached, IntegrationNameTaken
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
    responses=authenticated(Forbidden, IntegrationNotFound, InvalidIntegrationConfig, IntegrationNameTaken),
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
