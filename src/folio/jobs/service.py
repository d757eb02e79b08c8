"""Enqueueing, reading, cancelling and retrying jobs on behalf of a principal."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.db import new_id
from folio.effects import after_commit, outlet
from folio.events.outbox import actor_of
from folio.events.schemas import EventType
from folio.jobs.errors import JobFinished, JobNotFound, JobNotRetryable
from folio.jobs.events import emit_job
from folio.jobs.repository import JobFilters, JobRepository
from folio.models import Job, JobStatus
from folio.pagination import PageRequest

# The session outlet (`folio.effects.outlet`) of this process's job queue.
JOB_QUEUE = "job_queue"


class Dispatcher(Protocol):
    async def dispatch(self, job_ids: Iterable[UUID]) -> None: ...


def dispatch_after_commit(session: AsyncSession, job_id: UUID) -> None:
    """Send the job to the broker once the session commits, so a worker never looks for a job not yet stored.
    Without a job queue in this process (a CLI command), the reaper of a running one dispatches it."""

    async def dispatch() -> None:
        queue: Dispatcher | None = outlet(session, JOB_QUEUE)
        if queue is not None:
            await queue.dispatch([job_id])

    after_commit(session, dispatch)


def enqueue_system(
    session: AsyncSession,
    *,
    kind: str,
    max_attempts: int,
    payload: dict[str, Any] | None = None,
    subject_id: UUID | None = None,
) -> Job:
    """A job of the deployment itself (periodic work, webhook deliveries): no organization sees it or gets its
    events. Added to the session (flushed with its next statement) and dispatched once the session commits."""
    job = Job(
        id=new_id(),
        org_id=None,
        kind=kind,
        subject_id=subject_id,
        payload=payload or {},
        max_attempts=max_attempts,
        status=JobStatus.QUEUED,
        dispatched_at=datetime.now(UTC),
    )
    session.add(job)
    dispatch_after_commit(session, job.id)
    return job


async def enqueue(
    session: AsyncSession,
    *,
    principal: Principal,
    kind: str,
    max_attempts: int,
    payload: dict[str, Any] | None = None,
    subject_id: UUID | None = None,
) -> Job:
    job = Job(
        org_id=principal.org_id,
        created_by=principal.user_id,
        kind=kind,
        subject_id=subject_id,
        payload=payload or {},
        max_attempts=max_attempts,
        status=JobStatus.QUEUED,
        dispatched_at=datetime.now(UTC),
    )
    await JobRepository(session).add(job)
    emit_job(session, job, EventType.JOB_QUEUED, actor_of(principal))
    dispatch_after_commit(session, job.id)
    return job


async def queued(session: AsyncSession, *, principal: Principal, kind: str) -> bool:
    """Whether a job of `kind` of the principal's organization waits to start (one that would do the same work)."""
    return await JobRepository(session).queued(principal, kind)


async def unfinished(session: AsyncSession, *, org_id: UUID, kind: str, subject_id: UUID) -> Job | None:
    """A queued or running job of `kind` on the subject (one that would do the same work), if there is one."""
    return await JobRepository(session).unfinished(org_id, kind, subject_id)


async def get_job(session: AsyncSession, *, principal: Principal, job_id: UUID, for_update: bool = False) -> Job:
    job = await JobRepository(session).get(principal, job_id, for_update=for_update)
    if job is None:
        raise JobNotFound()
    return job


async def page_jobs(
    session: AsyncSession, *, principal: Principal, filters: JobFilters, page: PageRequest
) -> tuple[Sequence[Any], str | None]:
    return await JobRepository(session).page(principal, filters, page)


async def cancel(session: AsyncSession, *, principal: Principal, job_id: UUID) -> Job:
    """A queued job is cancelled at once; a running one is asked to stop and stops at its next check."""
    job = await get_job(session, principal=principal, job_id=job_id, for_update=True)
    if job.status.finished:
        raise JobFinished(details={"status": job.status.value})
    job.cancel_requested = True
    if job.status is JobStatus.QUEUED:
        job.status = JobStatus.CANCELLED
        job.finished_at = datetime.now(UTC)
        emit_job(session, job, EventType.JOB_CANCELLED, actor_of(principal))
    await session.flush()
    return job


async def retry(session: AsyncSession, *, principal: Principal, job_id: UUID) -> Job:
    """Run a failed or cancelled job again, with a fresh set of attempts."""
    job = await get_job(session, principal=principal, job_id=job_id, for_update=True)
    if job.status not in {JobStatus.FAILED, JobStatus.CANCELLED}:
        raise JobNotRetryable(details={"status": job.status.value})
    job.status = JobStatus.QUEUED
    job.attempts = 0
    job.progress = 0
    job.stage = None
    job.message = None
    job.cancel_requested = False
    job.error_code = None
    job.error_message = None
    job.finished_at = None
    job.run_after = datetime.now(UTC)
    job.dispatched_at = datetime.now(UTC)
    await session.flush()
    emit_job(session, job, EventType.JOB_QUEUED, actor_of(principal))
    dispatch_after_commit(session, job.id)
    return job


async def cancel_for_subject(session: AsyncSession, *, principal: Principal, subject_id: UUID) -> None:
    for job in await JobRepository(session).cancel_unfinished(principal, subject_id):
        emit_job(session, job, EventType.JOB_CANCELLED, actor_of(principal))
