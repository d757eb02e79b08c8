"""Running one job: claim it, keep its lease alive, run its handler, record the outcome."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from functools import partial
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.auth.principal import Principal, Scope
from folio.db_retry import retrying
from folio.errors import FolioError
from folio.events.schemas import EventType
from folio.inbox.system import notify_job_failed
from folio.jitter import jitter
from folio.jobs.errors import JobCancelled, JobFailed, LeaseLost, Transient, UnknownJobKind
from folio.jobs.events import emit_job, emit_status
from folio.jobs.repository import JobRepository
from folio.models import Job, JobStatus
from folio.observability import metrics
from folio.settings import JobSettings

log = structlog.get_logger(__name__)

# Progress is written at most this often (stage changes and completion are always written).
_PROGRESS_INTERVAL_SECONDS = 0.5


class JobContext:
    """What a handler gets: the job, a principal scoped to its organization, sessions, and progress reporting."""

    def __init__(self, job: Job, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.job_id: UUID = job.id
        self.kind: str = job.kind
        self.payload: dict[str, Any] = dict(job.payload)
        self.subject_id: UUID | None = job.subject_id
        self.attempt: int = job.attempts
        self.lease_id: UUID | None = job.lease_id
        self.last_attempt: bool = job.attempts >= job.max_attempts
        self._principal = (
            None
            if job.org_id is None
            else Principal(org_id=job.org_id, scopes=frozenset(Scope), user_id=job.created_by)
        )
        self.sessionmaker = sessionmaker
        self.cancel_requested = False
        self.lease_lost = False
        self._stage: str | None = None
        self._last_write = 0.0

    @property
    def principal(self) -> Principal:
        """The job's organization, with every scope; a periodic job of the deployment has none."""
        if self._principal is None:
            raise RuntimeError(f"job {self.job_id} of kind {self.kind} belongs to no organization")
        return self._principal

    async def progress(self, percent: float, message: str | None = None, *, stage: str | None = None) -> None:
        """Record progress (0–100); raise JobCancelled if the job was asked to stop, LeaseLost if it was taken back."""
        self.raise_if_cancelled()
        stage = stage or self._stage
        now = time.monotonic()
        if stage == self._stage and now - self._last_write < _PROGRESS_INTERVAL_SECONDS and percent < 100:
            return
        self._stage, self._last_write = stage, now
        async with self.sessionmaker() as session, session.begin():
            job = await JobRepository(session).report(
                self.job_id, self.lease_token(), stage=stage, progress=max(0, min(100, round(percent))), message=message
            )
            if job is not None:
                emit_job(session, job, EventType.JOB_PROGRESS)
        self.heard(None if job is None else job.cancel_requested)
        self.raise_if_cancelled()

    def heard(self, cancel_requested: bool | None) -> None:
        """Take in the job row's answer to a fenced write: None means the lease is no longer this attempt's."""
        self.lease_lost = self.lease_lost or cancel_requested is None
        self.cancel_requested = self.cancel_requested or bool(cancel_requested)

    def raise_if_cancelled(self) -> None:
        if self.lease_lost:
            raise LeaseLost()
        if self.cancel_requested:
            raise JobCancelled()

    async def fence(self, session: AsyncSession) -> None:
        """Raise LeaseLost unless this attempt still holds the job; it keeps holding it until `session` commits.

        Call it first in every transaction that changes what the job works on: the reaper cannot take the job back
        while such a transaction runs, and once it has, the next one raises instead of writing.
        """
        if not await JobRepository(session).holds(self.job_id, self.lease_token()):
            self.lease_lost = True
            raise LeaseLost()

    @asynccontextmanager
    async def fenced(self) -> AsyncIterator[AsyncSession]:
        """A transaction fenced by this attempt's lease (see `fence`): how a handler changes what the job works on."""
        async with self.sessionmaker() as session, session.begin():
            await self.fence(session)
            yield session

    def lease_token(self) -> UUID:
        if self.lease_id is None:
            raise LeaseLost()
        return self.lease_id


Handler = Callable[[JobContext], Awaitable[None]]


@asynccontextmanager
async def settled(
    context: JobContext,
    *,
    failed: Callable[[str, str], Awaitable[None]],
    cancelled: Callable[[], Awaitable[None]],
) -> AsyncIterator[None]:
    """Run a handler's work, and put what the job works on in a state that tells how the attempt ended.

    `failed(code, message)` runs when the job fails for good: at once for a reasoned refusal (`FolioError`), on the
    last attempt for a passing failure (`Transient`) or an unexpected error; `cancelled()` when the job is asked
    to stop. An attempt whose lease was taken back touches nothing: the attempt that took it owns the outcome.
    The exception goes on to the runner, which records the job's own outcome.
    """
    try:
        yield
    except LeaseLost:
        raise
    except JobCancelled:
        await cancelled()
        raise
    except Transient as transient:
        if context.last_attempt:
            await failed(transient.cause.code, transient.cause.detail_message)
        raise
    except FolioError as error:
        await failed(error.code, error.detail_message)
        raise
    except Exception as error:
        if context.last_attempt:
            await failed(JobFailed.code, f"{type(error).__name__}: {error}")
        raise


@runtime_checkable
class LostHook(Protocol):
    async def on_lost(self, context: JobContext) -> None:
        """The job failed because its worker kept dying; put what it was working on in a consistent state."""


class JobRunner:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: JobSettings,
        handlers: Mapping[str, Handler],
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.handlers = handlers
        self.lease = timedelta(seconds=settings.lease_seconds)
        # The attempts running here, by job, with the task that runs each: what `hand_back` stops.
        self._active: dict[UUID, asyncio.Task[Any]] = {}
        self._handing_back = False

    async def run(self, job_id: UUID) -> None:
        """Run the job if it can be claimed; a duplicate or stale delivery finds nothing to claim and returns."""
        # Retried on a dropped connection: a claim that committed unseen leaves the job running under a lease
        # nobody renews, and the reaper takes it back once the lease expires; it never runs twice at once.
        job = await retrying(partial(self._claim, job_id), operation="job_claim")
        if job is None:
            return
        context = JobContext(job, self.sessionmaker)
        log.info("job_started", job_id=str(job.id), kind=job.kind, attempt=job.attempts)
        started = time.monotonic()
        task = asyncio.current_task()
        if task is not None:
            self._active[job.id] = task
        heartbeat = asyncio.create_task(self._heartbeat(context))
        try:
            if self._handing_back:  # claimed while the process began to stop
                outcome = await self._hand_back(context)
            else:
                outcome = await self._execute(job, context)
        except asyncio.CancelledError:
            if not self._handing_back or task is None:
                raise
            task.uncancel()
            outcome = await self._hand_back(context)
        finally:
            self._active.pop(job.id, None)
            heartbeat.cancel()
            with suppress(asyncio.CancelledError):
                await heartbeat
        metrics.JOB_ATTEMPTS.labels(job.kind, outcome).inc()
        metrics.JOB_DURATION.labels(job.kind, outcome).observe(time.monotonic() - started)

    def hand_back(self) -> int:
        """Stop every job running here at once; each goes back to the queue, its attempt not counted, for another
        process to run. The jobs claimed from now on are handed back as soon as they are claimed. Returns how many
        were running."""
        self._handing_back = True
        for task in self._active.values():
            task.cancel()
        return len(self._active)

    async def lost(self, job: Job) -> None:
        """Tell the kind's handler (when it has an `on_lost` hook) that its job failed with WORKER_LOST."""
        handler = self.handlers.get(job.kind)
        if isinstance(handler, LostHook):
            await retrying(partial(handler.on_lost, JobContext(job, self.sessionmaker)), operation="job_lost")

    async def _claim(self, job_id: UUID) -> Job | None:
        async with self.sessionmaker() as session, session.begin():
            job = await JobRepository(session).claim(job_id, self.lease)
            if job is not None:
                emit_job(session, job, EventType.JOB_STARTED)
        return job

    async def _execute(self, job: Job, context: JobContext) -> str:
        """Run the handler and record the outcome; returns the attempt's outcome (`folio_job_attempts_total`)."""
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                raise UnknownJobKind(f"No handler for jobs of kind '{job.kind}'.")
            await handler(context)
        except LeaseLost:  # another attempt owns the job now and records its outcome
            log.warning("job_lease_lost", job_id=str(job.id), attempt=job.attempts)
            return "lease_lost"
        except JobCancelled:
            await self._finish(context, JobStatus.CANCELLED)
            return "cancelled"
        except Transient as transient:
            log.warning("job_attempt_failed", job_id=str(job.id), attempt=job.attempts, code=transient.cause.code)
            return await self._failed_attempt(job, context, transient.cause, transient.retry_after)
        except FolioError as error:  # a reasoned refusal: trying again would fail the same way
            log.info("job_failed", job_id=str(job.id), code=error.code)
            metrics.JOB_FAILURES.labels(job.kind, error.code).inc()
            await self._finish(context, JobStatus.FAILED, error.code, error.detail_message)
            return "failed"
        except Exception as error:  # anything unexpected may be transient: retry with backoff
            log.warning("job_attempt_failed", job_id=str(job.id), attempt=job.attempts, exc_info=True)
            return await self._failed_attempt(job, context, error)
        await self._finish(context, JobStatus.SUCCEEDED)
        log.info("job_succeeded", job_id=str(job.id))
        return "succeeded"

    async def _failed_attempt(
        self, job: Job, context: JobContext, error: Exception, retry_after: timedelta | None = None
    ) -> str:
        if isinstance(error, FolioError):
            code, message = error.code, error.detail_message[:2000]
        else:
            code, message = JobFailed.code, f"{type(error).__name__}: {error}"[:2000]
        metrics.JOB_FAILURES.labels(job.kind, code).inc()
        if job.attempts >= job.max_attempts:
            await self._finish(context, JobStatus.FAILED, code, message)
            return "failed"
        if retry_after is not None:
            delay = retry_after.total_seconds()
        else:
            delay = min(self.settings.backoff_seconds * 2 ** (job.attempts - 1), self.settings.backoff_max_seconds)
            delay *= jitter(0.8, 1.2)

        async def write() -> None:
            async with self.sessionmaker() as session, session.begin():
                queued = await JobRepository(session).retry_later(
                    job.id,
                    context.lease_token(),
                    timedelta(seconds=delay),
                    error_code=code,
                    error_message=message,
                )
                if queued is not None:
                    emit_job(session, queued, EventType.JOB_QUEUED)

        await retrying(write, operation="job_retry_later")
        return "retrying"

    async def _finish(
        self, context: JobContext, status: JobStatus, error_code: str | None = None, error_message: str | None = None
    ) -> None:
        async def write() -> None:
            async with self.sessionmaker() as session, session.begin():
                job = await JobRepository(session).finish(
                    context.job_id, context.lease_token(), status, error_code=error_code, error_message=error_message
                )
                if job is not None:
                    emit_status(session, job)
                    await notify_job_failed(session, job)

        # The write is fenced by the lease: run again after a first run that committed unseen, it changes nothing.
        await retrying(write, operation="job_finish")

    async def _hand_back(self, context: JobContext) -> str:
        async def write() -> None:
            async with self.sessionmaker() as session, session.begin():
                job = await JobRepository(session).hand_back(context.job_id, context.lease_token())
                if job is not None:
                    emit_job(session, job, EventType.JOB_QUEUED)

        await retrying(write, operation="job_hand_back")
        log.info("job_handed_back", job_id=str(context.job_id), kind=context.kind)
        return "handed_back"

    async def _heartbeat(self, context: JobContext) -> None:
        while True:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            try:
                requested = await retrying(partial(self._extend_lease, context), operation="job_heartbeat")
            except Exception:  # the next beat tries again, well within the lease
                log.warning("job_heartbeat_failed", job_id=str(context.job_id), exc_info=True)
                continue
            context.heard(requested)

    async def _extend_lease(self, context: JobContext) -> bool | None:
        async with self.sessionmaker() as session, session.begin():
            return await JobRepository(session).extend_lease(context.job_id, context.lease_token(), self.lease)
