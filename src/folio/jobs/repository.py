"""SQL for jobs. Request-side statements start from `scoped(principal)`; worker-side ones act by job id."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, Select, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.jobs.errors import WorkerLost
from folio.models import Job, JobStatus
from folio.pagination import PageRequest, keyset


@dataclass(frozen=True, slots=True)
class JobFilters:
    status: JobStatus | None = None
    kind: str | None = None
    subject_id: UUID | None = None
    # A batch read: only these jobs (absent ones, another organization's included, are simply left out).
    ids: frozenset[UUID] | None = None


class JobRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def scoped(principal: Principal) -> Select[Job]:
        return select(Job).where(Job.org_id == principal.org_id)

    async def add(self, job: Job) -> None:
        self.session.add(job)
        await self.session.flush()

    async def queued(self, principal: Principal, kind: str) -> bool:
        """Whether the organization has a job of `kind` waiting to start."""
        statement = self.scoped(principal).where(Job.kind == kind, Job.status == JobStatus.QUEUED).exists()
        return bool(await self.session.scalar(select(statement)))

    async def get(self, principal: Principal, job_id: UUID, *, for_update: bool = False) -> Job | None:
        statement = self.scoped(principal).where(Job.id == job_id)
        job: Job | None = await self.session.scalar(statement.with_for_update() if for_update else statement)
        return job

    async def page(
        self, principal: Principal, filters: JobFilters, page: PageRequest
    ) -> tuple[Sequence[Any], str | None]:
        statement = self.scoped(principal)
        if filters.status is not None:
            statement = statement.where(Job.status == filters.status)
        if filters.kind is not None:
            statement = statement.where(Job.kind == filters.kind)
        if filters.subject_id is not None:
            statement = statement.where(Job.subject_id == filters.subject_id)
        if filters.ids is not None:
            if not filters.ids:
                return [], None
            # Every named job fits on one page, so a batch read never has a next page.
            statement = statement.where(Job.id.in_(filters.ids))
            page = PageRequest(limit=len(filters.ids))
        return await keyset(self.session, statement, Job.id, page)

    async def unfinished(self, org_id: UUID, kind: str, subject_id: UUID) -> Job | None:
        """A queued or running job of `kind` on the subject, if there is one."""
        statement = select(Job).where(
            Job.org_id == org_id,
            Job.subject_id == subject_id,
            Job.kind == kind,
            Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
        )
        job: Job | None = await self.session.scalar(statement.limit(1))
        return job

    async def cancel_unfinished(self, principal: Principal, subject_id: UUID) -> Sequence[Job]:
        """Queued jobs on the subject are cancelled (returned); running ones are asked to stop."""
        subject = (Job.org_id == principal.org_id, Job.subject_id == subject_id)
        cancelled = (
            await self.session.scalars(
                update(Job)
                .where(*subject, Job.status == JobStatus.QUEUED)
                .values(status=JobStatus.CANCELLED, cancel_requested=True, finished_at=func.now())
                .returning(Job)
            )
        ).all()
        await self.session.execute(
            update(Job).where(*subject, Job.status == JobStatus.RUNNING).values(cancel_requested=True)
        )
        return cancelled

    # Worker side: the job id came from the broker, the row decides what happens. Every write after the claim is
    # fenced by the claim's `lease_id`, so an attempt whose lease was taken back changes nothing.

    async def claim(self, job_id: UUID, lease: timedelta) -> Job | None:
        """Take a queued, due job; None when it is not (already taken, cancelled, finished or not due)."""
        statement = (
            update(Job)
            .where(
                Job.id == job_id,
                Job.status == JobStatus.QUEUED,
                Job.run_after <= func.now(),
                Job.cancel_requested.is_(False),
            )
            .values(
                status=JobStatus.RUNNING,
                attempts=Job.attempts + 1,
                lease_expires_at=func.now() + lease,
                lease_id=uuid4(),
                started_at=func.coalesce(Job.started_at, func.now()),
                error_code=None,
                error_message=None,
            )
            .returning(Job)
        )
        job: Job | None = (await self.session.scalars(statement)).first()
        return job

    @staticmethod
    def _held(job_id: UUID, lease_id: UUID) -> tuple[ColumnElement[bool], ...]:
        return Job.id == job_id, Job.status == JobStatus.RUNNING, Job.lease_id == lease_id

    async def holds(self, job_id: UUID, lease_id: UUID) -> bool:
        """Whether the lease is still the job's, locking the row (FOR SHARE) so it stays so until the commit."""
        statement = select(Job.id).where(*self._held(job_id, lease_id)).with_for_update(read=True)
        return await self.session.scalar(statement) is not None

    async def extend_lease(self, job_id: UUID, lease_id: UUID, lease: timedelta) -> bool | None:
        """Renew a running job's lease; returns whether cancellation was requested (None: no longer ours)."""
        statement = (
            update(Job)
            .where(*self._held(job_id, lease_id))
            .values(lease_expires_at=func.now() + lease)
            .returning(Job.cancel_requested)
        )
        requested: bool | None = (await self.session.execute(statement)).scalar_one_or_none()
        return requested

    async def report(
        self, job_id: UUID, lease_id: UUID, *, stage: str | None, progress: int, message: str | None
    ) -> Job | None:
        """Write progress; returns the job (None: the lease is no longer ours)."""
        statement = (
            update(Job)
            .where(*self._held(job_id, lease_id))
            .values(stage=stage, progress=progress, message=message)
            .returning(Job)
        )
        job: Job | None = (await self.session.scalars(statement)).one_or_none()
        return job

    async def finish(
        self,
        job_id: UUID,
        lease_id: UUID,
        status: JobStatus,
        *,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> Job | None:
        """Record the outcome; returns the job (None: the lease is no longer ours)."""
        values: dict[str, Any] = {
            "status": status,
            "finished_at": func.now(),
            "lease_expires_at": None,
            "lease_id": None,
            "error_code": error_code,
            "error_message": error_message,
        }
        if status is JobStatus.SUCCEEDED:
            values["progress"] = 100
        statement = update(Job).where(*self._held(job_id, lease_id)).values(**values).returning(Job)
        job: Job | None = (await self.session.scalars(statement)).one_or_none()
        return job

    async def retry_later(
        self, job_id: UUID, lease_id: UUID, delay: timedelta, *, error_code: str, error_message: str
    ) -> Job | None:
        """Put the job back in the queue for a later attempt; returns it (None: the lease is no longer ours)."""
        statement = (
            update(Job)
            .where(*self._held(job_id, lease_id))
            .values(
                status=JobStatus.QUEUED,
                run_after=func.now() + delay,
                dispatched_at=None,
                lease_expires_at=None,
                lease_id=None,
                error_code=error_code,
                error_message=error_message,
            )
            .returning(Job)
        )
        job: Job | None = (await self.session.scalars(statement)).one_or_none()
        return job

    async def hand_back(self, job_id: UUID, lease_id: UUID) -> Job | None:
        """Put a job this process stops running back in the queue, due now and not on its way (the reaper of a live
        process dispatches it at its next pass), its attempt not counted; None: the lease is no longer ours."""
        statement = (
            update(Job)
            .where(*self._held(job_id, lease_id))
            .values(
                status=JobStatus.QUEUED,
                attempts=Job.attempts - 1,
                run_after=func.now(),
                dispatched_at=None,
                lease_expires_at=None,
                lease_id=None,
            )
            .returning(Job)
        )
        job: Job | None = (await self.session.scalars(statement)).one_or_none()
        return job

    async def undispatch(self, job_ids: Collection[UUID]) -> None:
        """Mark queued jobs as not on their way, so that the next reaper pass of a live process dispatches them."""
        await self.session.execute(
            update(Job).where(Job.id.in_(job_ids), Job.status == JobStatus.QUEUED).values(dispatched_at=None)
        )

    async def census(self) -> list[tuple[str, JobStatus, int, float | None]]:
        """Per kind and status (queued, running): how many jobs, and (queued) how many seconds the oldest due one
        has waited since it became due (None when none is due)."""
        waited = func.extract("epoch", func.now() - func.min(case((Job.run_after <= func.now(), Job.run_after))))
        statement = (
            select(Job.kind, Job.status, func.count(), waited)
            .where(Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
            .group_by(Job.kind, Job.status)
        )
        rows = await self.session.execute(statement)
        return [(kind, status, count, None if wait is None else float(wait)) for kind, status, count, wait in rows]

    async def requeue_expired_leases(self) -> tuple[list[Job], list[Job]]:
        """Jobs whose worker died go back to the queue (second list), or fail when they have used every attempt
        (first list)."""
        expired = (Job.status == JobStatus.RUNNING, Job.lease_expires_at < func.now())
        lost = (
            await self.session.scalars(
                update(Job)
                .where(*expired, Job.attempts >= Job.max_attempts)
                .values(
                    status=JobStatus.FAILED,
                    finished_at=func.now(),
                    lease_expires_at=None,
                    lease_id=None,
                    error_code=WorkerLost.code,
                    error_message=WorkerLost.message,
                )
                .returning(Job)
            )
        ).all()
        requeued = (
            await self.session.scalars(
                update(Job)
                .where(*expired)
                .values(
                    status=JobStatus.QUEUED,
                    run_after=func.now(),
                    dispatched_at=None,
                    lease_expires_at=None,
                    lease_id=None,
                )
                .returning(Job)
            )
        ).all()
        return list(lost), list(requeued)

    async def take_due(self, *, not_dispatched_since: timedelta, limit: int = 100) -> list[UUID]:
        """Ids of queued, due jobs not dispatched recently, marked as dispatched now (SKIP LOCKED between reapers)."""
        now = datetime.now(UTC)
        due = (
            select(Job.id)
            .where(
                Job.status == JobStatus.QUEUED,
                Job.run_after <= now,
                (Job.dispatched_at.is_(None)) | (Job.dispatched_at < now - not_dispatched_since),
            )
            .order_by(Job.run_after)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = update(Job).where(Job.id.in_(due.scalar_subquery())).values(dispatched_at=now).returning(Job.id)
        return list((await self.session.scalars(statement)).all())
