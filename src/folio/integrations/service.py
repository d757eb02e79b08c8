"""Integrations: connecting a source (checked configuration, encrypted credentials, within the server's and the
plan's limits), changing and removing it, checking its credentials, and starting its syncs, by hand or on schedule.

Removing an integration keeps the documents it synced: they become ordinary documents, whose `source_url` still
links to the source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.db import release
from folio.errors import Conflict, FolioError
from folio.integrations.errors import (
    IntegrationNameTaken,
    IntegrationNeedsReauth,
    IntegrationNotFound,
    InvalidIntegrationConfig,
    SyncInProgress,
    TooManyIntegrations,
)
from folio.integrations.repository import IntegrationRepository, SyncRepository
from folio.integrations.sources import Sources, parse_config, parse_credentials
from folio.jobs import service as jobs
from folio.jobs.kinds import SYNC_INTEGRATION
from folio.models import Integration, IntegrationKind, IntegrationStatus, IntegrationSync, Job
from folio.pagination import Paged, PageRequest
from folio.plans import service as plans_service
from folio.repository import lock_org
from folio.settings import IntegrationSettings, PlanSettings

# Kinds whose connector needs no credentials.
_OPEN = frozenset({IntegrationKind.WEB})
# Integrations the scheduler starts a sync of per run; the rest wait a minute.
SCHEDULE_BATCH = 100


@dataclass(frozen=True, slots=True)
class Limits:
    integrations: IntegrationSettings
    plans: PlanSettings
    max_attempts: int


@dataclass(frozen=True, slots=True)
class Check:
    reached: str | None
    error: FolioError | None


def now() -> datetime:
    return datetime.now(UTC)


async def create_integration(
    session: AsyncSession,
    *,
    principal: Principal,
    sources: Sources,
    limits: Limits,
    kind: IntegrationKind,
    name: str,
    config: Mapping[str, Any],
    credentials: Mapping[str, Any],
    sync_interval_minutes: int | None,
    enabled: bool,
    sync_now: bool,
    oauth_credentials: dict[str, Any] | None = None,
) -> tuple[Integration, Job | None]:
    """`oauth_credentials`: the tokens of the connection flow, in place of `credentials`."""
    checked = parse_config(kind, config)
    sources.refuse_internal(kind, checked, oauth=oauth_credentials is not None)
    secret = oauth_credentials or _credentials(kind, credentials)
    check_interval(limits.integrations, sync_interval_minutes)
    # Under the organization's lock, the counts and the unique name checked stay true until the commit.
    await lock_org(session, principal.org_id)
    repository = IntegrationRepository(session)
    if await repository.count(principal) >= limits.integrations.max_per_org:
        raise TooManyIntegrations(details={"max": limits.integrations.max_per_org})
    await plans_service.check_can_add_integration(session, plans=limits.plans, org_id=principal.org_id)
    if await repository.named(principal, name) is not None:
        raise IntegrationNameTaken(details={"name": name})
    integration = Integration(
        org_id=principal.org_id,
        created_by=principal.user_id,
        kind=kind,
        name=name,
        config=checked,
        credentials_encrypted=sources.encrypt(secret) if secret else None,
        auth_method="oauth" if oauth_credentials else "token",
        sync_interval_minutes=sync_interval_minutes,
        enabled=enabled,
        next_sync_at=_next(sync_interval_minutes, after=now()),
    )
    await repository.add(integration)
    job = await _enqueue_sync(session, principal, integration, limits) if sync_now and enabled else None
    return integration, job


async def get_integration(
    session: AsyncSession, *, principal: Principal, integration_id: UUID, for_update: bool = False
) -> Integration:
    integration = await IntegrationRepository(session).get(principal, integration_id, for_update=for_update)
    if integration is None:
        raise IntegrationNotFound()
    return integration


async def page_integrations(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[Integration]:
    return await IntegrationRepository(session).page(principal, page)


async def update_integration(
    session: AsyncSession,
    *,
    principal: Principal,
    sources: Sources,
    limits: Limits,
    integration: Integration,
    changes: Mapping[str, Any],
) -> Integration:
    """`changes` holds only the fields the request gave (`sync_interval_minutes: null` stops scheduling)."""
    if "name" in changes and changes["name"] != integration.name:
        await lock_org(session, principal.org_id)
        if await IntegrationRepository(session).named(principal, changes["name"]) is not None:
            raise IntegrationNameTaken(details={"name": changes["name"]})
        integration.name = changes["name"]
    if changes.get("config") is not None:
        checked = parse_config(integration.kind, changes["config"])
        sources.refuse_internal(integration.kind, checked, oauth=integration.auth_method == "oauth")
        integration.config = checked
    if changes.get("credentials") is not None:
        secret = _credentials(integration.kind, changes["credentials"])
        integration.credentials_encrypted = sources.encrypt(secret) if secret else None
        integration.auth_method = "token"
        integration.status, integration.status_message = IntegrationStatus.ACTIVE, None
    if "sync_interval_minutes" in changes:
        check_interval(limits.integrations, changes["sync_interval_minutes"])
        integration.sync_interval_minutes = changes["sync_interval_minutes"]
        integration.next_sync_at = _next(integration.sync_interval_minutes, after=now())
    if changes.get("enabled") is not None:
        integration.enabled = changes["enabled"]
    await session.flush()
    return integration


async def delete_integration(session: AsyncSession, *, principal: Principal, integration: Integration) -> None:
    await jobs.cancel_for_subject(session, principal=principal, subject_id=integration.id)
    await IntegrationRepository(session).delete(integration)


async def check_integration(
    session: AsyncSession, *, principal: Principal, sources: Sources, integration_id: UUID
) -> Check:
    """Whether the credentials reach the source; the connection is given back before the source is called."""
    integration = await get_integration(session, principal=principal, integration_id=integration_id)
    credentials = sources.credentials(integration)
    await release(session)

    async def keep(renewed: dict[str, Any]) -> None:
        """A check's refreshed token is not stored: the next sync refreshes it again."""

    try:
        http, connector = sources.open(integration, credentials, keep)
        async with http:
            return Check(await connector.check(), None)
    except FolioError as error:
        return Check(None, error)


async def start_sync(session: AsyncSession, *, principal: Principal, limits: Limits, integration_id: UUID) -> Job:
    integration = await get_integration(session, principal=principal, integration_id=integration_id, for_update=True)
    if integration.status is IntegrationStatus.NEEDS_REAUTH:
        raise IntegrationNeedsReauth()
    if not integration.enabled:
        raise Conflict("The integration is disabled; enable it to sync.", details={"enabled": False})
    running = await jobs.unfinished(session, org_id=principal.org_id, kind=SYNC_INTEGRATION, subject_id=integration.id)
    if running is not None:
        raise SyncInProgress(details={"job_id": str(running.id)})
    return await _enqueue_sync(session, principal, integration, limits)


async def page_syncs(
    session: AsyncSession, *, principal: Principal, integration_id: UUID, page: PageRequest
) -> Paged[IntegrationSync]:
    await get_integration(session, principal=principal, integration_id=integration_id)
    return await SyncRepository(session).page_newest_first(principal, integration_id, page)


async def schedule_due(session: AsyncSession, *, limits: Limits, moment: datetime) -> int:
    """Start a sync of each enabled integration that is due (and not waiting for new credentials or already
    syncing); the next is due an interval later. Two schedulers at once skip each other's rows."""
    started = 0
    for integration in await IntegrationRepository(session).due(moment, SCHEDULE_BATCH):
        integration.next_sync_at = _next(integration.sync_interval_minutes, after=moment)
        if integration.status is IntegrationStatus.NEEDS_REAUTH:
            continue
        principal = Principal(org_id=integration.org_id, scopes=frozenset(), user_id=integration.created_by)
        if await jobs.unfinished(session, org_id=integration.org_id, kind=SYNC_INTEGRATION, subject_id=integration.id):
            continue
        await _enqueue_sync(session, principal, integration, limits)
        started += 1
    return started


async def _enqueue_sync(session: AsyncSession, principal: Principal, integration: Integration, limits: Limits) -> Job:
    return await jobs.enqueue(
        session,
        principal=principal,
        kind=SYNC_INTEGRATION,
        max_attempts=limits.max_attempts,
        subject_id=integration.id,
    )


def _credentials(kind: IntegrationKind, raw: Mapping[str, Any]) -> dict[str, Any]:
    if not raw and kind not in _OPEN:
        raise InvalidIntegrationConfig(
            f"A {kind.value} integration needs credentials.",
            details={"errors": [{"field": "credentials", "message": "required"}]},
        )
    return parse_credentials(kind, raw)


def check_interval(settings: IntegrationSettings, minutes: int | None) -> None:
    if minutes is not None and minutes < settings.min_interval_minutes:
        raise InvalidIntegrationConfig(
            f"Syncs may be at most every {settings.min_interval_minutes} minutes.",
            details={"errors": [{"field": "sync_interval_minutes", "message": "too short"}]},
        )


def _next(minutes: int | None, *, after: datetime) -> datetime | None:
    return None if minutes is None else after + timedelta(minutes=minutes)
