from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.jobs import service as jobs
from folio.jobs.errors import JobFinished, JobNotFound, JobNotRetryable
from folio.jobs.repository import JobFilters
from folio.jobs.schemas import JobRead
from folio.models import Job, JobStatus
from folio.pagination import Page

router = APIRouter(prefix=f"{API_V1}/jobs", tags=["jobs"])
Reader = Annotated[Principal, requires(Scope.DOCUMENTS_READ)]
Writer = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]


@router.get("", response_model=Page[JobRead], responses=authenticated(Forbidden), summary="List jobs, newest last")
async def list_jobs(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
    kind: Annotated[str | None, Query(max_length=64, description="Only jobs of this kind.")] = None,
    subject_id: Annotated[UUID | None, Query(description="Only jobs working on this resource.")] = None,
) -> Page[JobRead]:
    filters = JobFilters(status=status, kind=kind, subject_id=subject_id)
    rows, next_cursor = await jobs.page_jobs(session, principal=principal, filters=filters, page=page)
    return Page(items=[JobRead.model_validate(row[0]) for row in rows], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobRead, responses=authenticated(Forbidden, JobNotFound), summary="Get a job")
async def get_job(job_id: UUID, principal: Reader, session: SessionDep) -> Job:
    return await jobs.get_job(session, principal=principal, job_id=job_id)


@router.post(
    "/{job_id}/cancel",
    response_model=JobRead,
    responses=authenticated(Forbidden, JobNotFound, JobFinished),
    summary="Cancel a job (a running job stops at its next checkpoint)",
)
async def cancel_job(job_id: UUID, principal: Writer, session: SessionDep) -> Job:
    return await jobs.cancel(session, principal=principal, job_id=job_id)


@router.post(
    "/{job_id}/retry",
    response_model=JobRead,
    responses=authenticated(Forbidden, JobNotFound, JobNotRetryable),
    summary="Run a failed or cancelled job again",
)
async def retry_job(job_id: UUID, principal: Writer, session: SessionDep) -> Job:
    return await jobs.retry(session, principal=principal, job_id=job_id)
