"""What the system itself tells members: a job of theirs that failed for good, a webhook endpoint it disabled, an
integration whose credentials the source refused. Each runs in the transaction that records the change."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from folio.events.schemas import Subject, SubjectType
from folio.inbox.repository import InboxRepository
from folio.inbox.service import MAX_RECIPIENTS, notify
from folio.models import Integration, Job, JobStatus, NotificationKind, WebhookEndpoint


async def notify_job_failed(session: AsyncSession, job: Job) -> None:
    """The member who started a job that failed for good is told; the deployment's own jobs (no organization) and
    jobs nobody started tell nobody."""
    if job.status is not JobStatus.FAILED or job.org_id is None or job.created_by is None:
        return
    await notify(
        session,
        org_id=job.org_id,
        recipients=[job.created_by],
        kind=NotificationKind.JOB_FAILED,
        title=f"A {job.kind.replace('_', ' ')} job you started failed",
        body=job.error_message or "",
        subject=Subject(type=SubjectType.JOB, id=job.id),
    )


async def notify_webhook_disabled(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """The organization's owners and admins are told that an endpoint was disabled. Only the URL's host is named:
    its path and query often carry the receiver's own secret."""
    admins = await InboxRepository(session).admins(endpoint.org_id, limit=MAX_RECIPIENTS)
    await notify(
        session,
        org_id=endpoint.org_id,
        recipients=admins,
        kind=NotificationKind.WEBHOOK_DISABLED,
        title=f"The webhook endpoint at {urlsplit(endpoint.url).hostname} was disabled",
        body=endpoint.disabled_reason or "",
        subject=Subject(type=SubjectType.WEBHOOK, id=endpoint.id),
    )


async def notify_integration_needs_reauth(session: AsyncSession, integration: Integration) -> None:
    """The organization's owners and admins are told that an integration stopped syncing until it has new
    credentials."""
    admins = await InboxRepository(session).admins(integration.org_id, limit=MAX_RECIPIENTS)
    await notify(
        session,
        org_id=integration.org_id,
        recipients=admins,
        kind=NotificationKind.INTEGRATION,
        title=f"The integration {integration.name} needs new credentials",
        body=integration.status_message or "",
        subject=Subject(type=SubjectType.INTEGRATION, id=integration.id),
    )
