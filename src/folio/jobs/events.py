"""A job's life as events (`job.queued` … `job.succeeded`), emitted in the transaction that changes the job."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from folio.events.outbox import emit
from folio.events.schemas import SYSTEM, Actor, EventType, JobData
from folio.models import Job, JobStatus

_FINAL = {
    JobStatus.SUCCEEDED: EventType.JOB_SUCCEEDED,
    JobStatus.FAILED: EventType.JOB_FAILED,
    JobStatus.CANCELLED: EventType.JOB_CANCELLED,
}


def job_data(job: Job) -> JobData:
    return JobData(
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        stage=job.stage,
        message=job.message,
        subject_id=job.subject_id,
        attempt=job.attempts,
        error_code=job.error_code,
        error_message=job.error_message,
    )


def emit_job(session: AsyncSession, job: Job, type: EventType, actor: Actor = SYSTEM) -> None:
    """An organization's job emits; the deployment's periodic jobs are nobody's to follow."""
    if job.org_id is None:
        return
    emit(session, org_id=job.org_id, type=type, subject_id=job.id, data=job_data(job), actor=actor)


def emit_status(session: AsyncSession, job: Job, actor: Actor = SYSTEM) -> None:
    """The event of the job's current status: queued, started (running) or its outcome."""
    if job.status is JobStatus.QUEUED:
        emit_job(session, job, EventType.JOB_QUEUED, actor)
    elif job.status is JobStatus.RUNNING:
        emit_job(session, job, EventType.JOB_STARTED, actor)
    else:
        emit_job(session, job, _FINAL[job.status], actor)
