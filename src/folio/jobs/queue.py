"""The broker that carries job ids, the dispatcher, and the reaper that keeps jobs moving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any
from uuid import UUID

import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AckableMessage, AsyncBroker, InMemoryBroker
from taskiq.api import run_receiver_task
from taskiq_redis import RedisStreamBroker

from folio.inbox.system import notify_job_failed
from folio.jobs.events import emit_status
from folio.jobs.repository import JobRepository
from folio.jobs.runner import Handler, JobRunner
from folio.jobs.schedule import Periodic, Scheduler
from folio.settings import JobSettings

log = structlog.get_logger(__name__)

TASK_NAME = "folio.run_job"

# Job ids one process keeps waiting for a slot. A dispatch beyond it is dropped: the job stays queued in the
# table, and the reaper sends it again once its dispatch is older than a lease.
MAX_WAITING = 1000


class Slots:
    """At most `size` jobs of this process run at once, and each job waits here at most once.

    A job is claimed (its lease starts) only once it holds a slot, so a job waiting behind others is never taken
    for lost; and a job the reaper dispatches again while it still waits adds no second waiting delivery.
    """

    def __init__(self, size: int, max_waiting: int | None = None) -> None:
        self._slots = asyncio.Semaphore(size)
        self._max_waiting = MAX_WAITING if max_waiting is None else max_waiting
        self.waiting: set[UUID] = set()

    def admit(self, job_id: UUID) -> bool:
        """Whether a delivery of `job_id` should wait for a slot; not when one already waits, nor when full."""
        if job_id in self.waiting or len(self.waiting) >= self._max_waiting:
            return False
        self.waiting.add(job_id)
        return True

    def forget(self, job_id: UUID) -> None:
        self.waiting.discard(job_id)

    @asynccontextmanager
    async def slot(self, job_id: UUID) -> AsyncIterator[None]:
        """Hold a slot for an admitted job; from then on a new delivery of it may wait again (a retry)."""
        try:
            await self._slots.acquire()
        finally:  # holding a slot, or cancelled while waiting
            self.waiting.discard(job_id)
        try:
            yield
        finally:
            self._slots.release()


class JobStream(RedisStreamBroker):
    """taskiq's Redis stream broker, surviving a Redis that restarted empty.

    A Redis without persistence comes back without the stream's consumer group: reading then fails with NOGROUP on
    every try, and the worker would never run a job again. The group is made again from the stream's start (what
    was added since the restart is still to be read), and a lost connection is retried with backoff rather than in
    a tight loop.
    """

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        delay = 0.1
        while True:
            try:
                async for message in super().listen():
                    delay = 0.1
                    yield message
            except ResponseError as error:
                if "NOGROUP" not in str(error):
                    raise
                log.warning("job_stream_group_recreated", stream=self.queue_name)
                await self._recreate_group()
            except (RedisConnectionError, OSError):
                log.warning("job_stream_disconnected", retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)

    async def _recreate_group(self) -> None:
        async with Redis(connection_pool=self.connection_pool) as redis:
            try:
                await redis.xgroup_create(self.queue_name, self.consumer_group_name, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):  # another worker made it first
                    raise


class JobQueue:
    """One per process. The API dispatches through it; a worker also consumes and reaps.

    Embedded (no Redis): an in-memory broker runs jobs inside the API process. Scale-out: a Redis stream
    carries ids to `folio worker` processes, which acknowledge a message only after the job's outcome is stored.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: JobSettings,
        handlers: Mapping[str, Handler],
        redis_url: str | None,
        periodics: Sequence[Periodic] = (),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.scheduler = Scheduler(sessionmaker, periodics)
        self.runner = JobRunner(sessionmaker, settings, handlers)
        self.broker: AsyncBroker = (
            JobStream(
                redis_url,
                queue_name="folio:jobs",
                consumer_group_name="folio-workers",
                # A message whose worker died is handed to another after this long without an ack.
                idle_timeout=int(settings.lease_seconds * 1000),
            )
            if redis_url
            # `kick` starts a task per message at once (its `max_async_tasks` reaches a receiver it never runs),
            # so `slots` bounds the jobs; `await_inplace` would run them one at a time inside `dispatch`.
            else InMemoryBroker()
        )
        runner = self.runner
        running: set[asyncio.Task[Any]] = set()
        # In every mode, not only the embedded one: the Redis receiver's own bound is taskiq's, this one is ours.
        slots = self.slots = Slots(settings.concurrency)
        embedded = self.embedded

        async def run_job(job_id: str) -> None:
            id_ = UUID(job_id)
            if self._stopping:
                # The job stays queued; a reaper sends it again once its dispatch is older than a lease.
                slots.forget(id_)
                return
            # Embedded, `dispatch` admitted the id; from Redis, a delivery of a job already waiting here ends.
            if not embedded and not slots.admit(id_):
                return
            # Known so that `stop` can end it before the engine it uses is closed.
            task = asyncio.current_task()
            if task is not None:
                running.add(task)
            try:
                async with slots.slot(id_):
                    await runner.run(id_)
            finally:
                if task is not None:
                    running.discard(task)

        self._running = running
        self._stopping = False
        self._task = self.broker.register_task(run_job, task_name=TASK_NAME)
        self._background: list[asyncio.Task[None]] = []

    @property
    def embedded(self) -> bool:
        return isinstance(self.broker, InMemoryBroker)

    async def start(self, *, consume: bool) -> None:
        """Connect the broker; with `consume`, also run jobs and the reaper in this process."""
        if consume or self.embedded:
            await self.broker.startup()
        else:
            # Only consumers declare the Redis consumer group; a dispatching API starts (and stays live) while
            # Redis is down, and its jobs are dispatched again by the workers' reaper once it is back.
            await AsyncBroker.startup(self.broker)
        if consume:
            if not self.embedded:
                self._background.append(
                    asyncio.create_task(
                        run_receiver_task(self.broker, max_async_tasks=self.settings.concurrency, run_startup=False)
                    )
                )
            self._background.append(asyncio.create_task(self._reap_forever()))

    async def stop(self) -> None:
        """Stop consuming, then stop the jobs running here; each stays `running` until its lease expires and
        the reaper of a live process runs it again, so stopping never loses a job.

        Once it returns, no job runs here and none starts, so the engine can be disposed of: a job running on
        would keep (or open) connections that the disposed engine never closes. Deliveries the broker started
        but that have not reached `run_job` yet are not in `_running`, and more come while the tasks end (a
        session that committed closes, and dispatches after its commit, even when its task is cancelled: the
        reaper's periodic jobs, a job's follow-ups); each finds the queue stopping and ends at once.
        """
        self._stopping = True
        tasks = [*self._background, *self._running]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._background.clear()
        await self.broker.shutdown()

    async def dispatch(self, job_ids: Iterable[UUID]) -> None:
        """Send job ids to the broker. Call only after the transaction that created the jobs committed."""
        for job_id in job_ids:
            # Embedded, the broker is this process: a job already waiting here needs no second delivery, and one
            # beyond the waiting room is left to the reaper.
            if self.embedded and not self.slots.admit(job_id):
                continue
            try:
                await self._task.kiq(str(job_id))
            except Exception:  # the reaper dispatches it again; the job row is safe
                self.slots.forget(job_id)
                log.warning("job_dispatch_failed", job_id=str(job_id), exc_info=True)

    async def reap(self) -> None:
        """Re-queue jobs whose worker died, dispatch queued jobs that are due but not on their way, and enqueue
        the periodic jobs that are due."""
        await self.scheduler.tick()
        async with self.sessionmaker() as session, session.begin():
            repository = JobRepository(session)
            lost, requeued = await repository.requeue_expired_leases()
            for job in [*lost, *requeued]:
                emit_status(session, job)
            for job in lost:
                await notify_job_failed(session, job)
            due = await repository.take_due(not_dispatched_since=timedelta(seconds=self.settings.lease_seconds))
        for job in lost:
            await self.runner.lost(job)
        if due:
            log.info("jobs_dispatched_by_reaper", count=len(due))
        await self.dispatch(due)

    async def _reap_forever(self) -> None:
        while True:
            try:
                await self.reap()
            except Exception:  # a database hiccup must not stop the reaper for good
                log.warning("reaper_failed", exc_info=True)
            await asyncio.sleep(self.settings.reaper_seconds)
