"""The broker that carries job ids, the dispatcher, and the reaper that keeps jobs moving."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AckableMessage, AsyncBroker, InMemoryBroker
from taskiq.api import run_receiver_task
from taskiq_redis import RedisStreamBroker

from folio.db_retry import retrying
from folio.inbox.system import notify_job_failed
from folio.jobs.events import emit_status
from folio.jobs.repository import JobRepository
from folio.jobs.runner import Handler, JobRunner
from folio.jobs.schedule import Periodic, Scheduler
from folio.models import Job, JobStatus
from folio.observability import metrics
from folio.settings import JobSettings

log = structlog.get_logger(__name__)

TASK_NAME = "folio.run_job"

# Job ids one process keeps waiting for a slot. A dispatch beyond it is dropped: the job stays queued in the
# table, and the reaper sends it again once its dispatch is older than a lease.
MAX_WAITING = 1000
# Seconds the jobs being handed back have to write their row before they are cancelled outright.
HAND_BACK_SECONDS = 5.0


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

    def close(self) -> None:
        """Let every waiting delivery through at once: the queue is stopping, and each finds it so and ends without
        running its job. The bound no longer matters, since nothing starts any more."""
        for _ in range(len(self.waiting)):
            self._slots.release()

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

    async def requeue_unacknowledged(self) -> int:
        """Put what this consumer read but never acknowledged back at the end of the stream, where any worker reads
        it at once (left pending, another worker would claim it only after `idle_timeout`); returns how many."""
        async with Redis(connection_pool=self.connection_pool) as redis:
            pending = await redis.xpending_range(
                self.queue_name,
                self.consumer_group_name,
                min="-",
                max="+",
                count=self.unacknowledged_batch_size,
                consumername=self.consumer_name,
            )
            for entry in pending:
                message_id = entry["message_id"]
                async with redis.pipeline(transaction=True) as pipe:
                    for _, fields in await redis.xrange(self.queue_name, min=message_id, max=message_id) or []:
                        if fields:  # a message trimmed from the stream has none left to send
                            pipe.xadd(
                                self.queue_name, cast(Any, fields), maxlen=self.maxlen, approximate=self.approximate
                            )
                    pipe.xack(self.queue_name, self.consumer_group_name, message_id)
                    await pipe.execute()
        return len(pending)

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
        *,
        heartbeat: Path | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        # Touched after every reaper pass of a consuming queue, removed on stop: `python -m folio.heartbeat` reads it.
        self.heartbeat = heartbeat
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
                # One message a read: the receiver reads when it has room for a job, and a message read ahead would
                # wait in this process while other workers idle (and be stranded here if it stops).
                xread_count=1,
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
                self._decline(id_)
                return
            # Embedded, `dispatch` admitted the id; from Redis, a delivery of a job already waiting here ends.
            if not embedded and not slots.admit(id_):
                return
            # Known so that `stop` can wait for it, and end it before the engine it uses is closed.
            task = asyncio.current_task()
            if task is not None:
                running.add(task)
            try:
                async with slots.slot(id_):
                    if self._stopping:  # let through by `stop`
                        self._decline(id_)
                        return
                    await runner.run(id_)
            finally:
                if task is not None:
                    running.discard(task)

        self._running = running
        self._stopping = False
        # Jobs delivered here that did not start because the queue was stopping: still queued, sent again by a
        # live process's reaper once `stop` marks them as not on their way.
        self._declined: set[UUID] = set()
        self._task = self.broker.register_task(run_job, task_name=TASK_NAME)
        self._background: list[asyncio.Task[None]] = []
        self._consuming = False

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
        self._consuming = consume
        if consume:
            if self.heartbeat is not None:
                # A path it cannot write fails the start, not every health check after it.
                await asyncio.to_thread(self.heartbeat.touch)
            if not self.embedded:
                self._background.append(
                    asyncio.create_task(
                        run_receiver_task(self.broker, max_async_tasks=self.settings.concurrency, run_startup=False)
                    )
                )
            self._background.append(asyncio.create_task(self._reap_forever()))

    async def stop(self) -> None:
        """Stop taking jobs; give the running ones `drain_seconds` to finish, then hand the others back at once.

        A job handed back is queued again, its attempt not counted, and the next reaper pass of a live process
        dispatches it; so are the jobs delivered here that had not started (those waiting for a slot, and those
        that arrive while the queue stops: a session that committed dispatches after its commit even when its task
        is cancelled, such as the reaper's periodic jobs and a job's follow-ups). Every delivery ends normally, so
        its Redis message is acknowledged; what this consumer read but never ran goes back to the stream. A job
        that ignores its hand-back is cancelled after HAND_BACK_SECONDS and stays `running` until its lease expires.

        Once it returns, no job runs here and none starts, so the engine can be disposed of: a job running on would
        keep (or open) connections that the disposed engine never closes. A delivery that comes later still finds
        the queue stopping and ends at once.
        """
        self._stopping = True
        await _cancel(self._background)  # no more deliveries from the stream, no more reaper passes
        self._background.clear()
        if self.heartbeat is not None:
            await asyncio.to_thread(self.heartbeat.unlink, missing_ok=True)
        self.slots.close()
        await _settle(self._running, self.settings.drain_seconds)
        if self._running and (handed_back := self.runner.hand_back()):
            log.info("jobs_handed_back", count=handed_back, drain_seconds=self.settings.drain_seconds)
        await _settle(self._running, HAND_BACK_SECONDS)
        await _cancel(self._running)
        await self._undispatch_declined()
        if self._consuming and isinstance(self.broker, JobStream):
            try:
                if requeued := await self.broker.requeue_unacknowledged():
                    log.info("job_stream_requeued", count=requeued)
            except (RedisError, OSError):  # Redis is away: another worker claims them after `idle_timeout`
                log.warning("job_stream_requeue_failed", exc_info=True)
        await self.broker.shutdown()

    def _decline(self, job_id: UUID) -> None:
        self.slots.forget(job_id)
        self._declined.add(job_id)

    async def _undispatch_declined(self) -> None:
        declined, self._declined = self._declined, set()
        if not declined:
            return

        async def write() -> None:
            async with self.sessionmaker() as session, session.begin():
                await JobRepository(session).undispatch(declined)

        try:
            await retrying(write, operation="jobs_undispatch")
        except Exception:  # the database is away: the reaper sends them once their dispatch is older than a lease
            log.warning("jobs_undispatch_failed", count=len(declined), exc_info=True)

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
        """Re-queue jobs whose worker died, dispatch queued jobs that are due but not on their way, enqueue the
        periodic jobs that are due, and refresh the queue's gauges. Each transaction is run again after a passing
        database error: every statement in them is conditional on the rows' state, so a second run is harmless."""
        await retrying(self.scheduler.tick, operation="schedule_tick")
        lost, requeued, due = await retrying(self._requeue, operation="reaper")
        for job in [*lost, *requeued]:
            metrics.JOB_ATTEMPTS.labels(job.kind, "lease_expired").inc()
        for job in lost:
            await self.runner.lost(job)
        if due:
            log.info("jobs_dispatched_by_reaper", count=len(due))
        await self.dispatch(due)
        self._gauge(await retrying(self._census, operation="job_census"))

    async def _requeue(self) -> tuple[list[Job], list[Job], list[UUID]]:
        async with self.sessionmaker() as session, session.begin():
            repository = JobRepository(session)
            lost, requeued = await repository.requeue_expired_leases()
            for job in [*lost, *requeued]:
                emit_status(session, job)
            for job in lost:
                await notify_job_failed(session, job)
            due = await repository.take_due(not_dispatched_since=timedelta(seconds=self.settings.lease_seconds))
        return lost, requeued, due

    async def _census(self) -> list[tuple[str, JobStatus, int, float | None]]:
        """Read apart from the requeue's writes, so their row locks are not held while the whole table is counted."""
        async with self.sessionmaker() as session:
            return await JobRepository(session).census()

    def _gauge(self, census: list[tuple[str, JobStatus, int, float | None]]) -> None:
        """Set the queue's gauges of every kind this process knows or the table holds (0 for the absent ones)."""
        queued = dict.fromkeys([*self.runner.handlers, *(kind for kind, *_ in census)], 0)
        running, waited = dict.fromkeys(queued, 0), dict.fromkeys(queued, 0.0)
        for kind, status, count, wait in census:
            if status is JobStatus.QUEUED:
                queued[kind], waited[kind] = count, max(wait or 0.0, 0.0)
            else:
                running[kind] = count
        for kind in queued:
            metrics.JOBS_QUEUED.labels(kind).set(queued[kind])
            metrics.JOBS_RUNNING.labels(kind).set(running[kind])
            metrics.JOBS_OLDEST_QUEUED_SECONDS.labels(kind).set(waited[kind])

    async def _reap_forever(self) -> None:
        while True:
            try:
                await self.reap()
            except Exception:  # a database outage must not stop the reaper for good
                log.warning("reaper_failed", exc_info=True)
            # After the pass, failed or not: the loop going on is what it proves, and a pass that hangs lets it age.
            # In a thread: a file system that hangs must not stop the loop with it.
            await asyncio.to_thread(self._beat)
            await asyncio.sleep(self.settings.reaper_seconds)

    def _beat(self) -> None:
        if self.heartbeat is None:
            return
        try:
            self.heartbeat.touch()
        except OSError:  # the file ages, and the health check reports it; the reaper goes on
            log.warning("heartbeat_failed", path=str(self.heartbeat), exc_info=True)


async def _settle(tasks: set[asyncio.Task[Any]], seconds: float) -> None:
    """Wait up to `seconds` for the tasks of the set (and those that join it meanwhile) to end."""
    deadline = asyncio.get_running_loop().time() + seconds
    while tasks and (left := deadline - asyncio.get_running_loop().time()) > 0:
        await asyncio.wait(set(tasks), timeout=left)


async def _cancel(tasks: Iterable[asyncio.Task[Any]]) -> None:
    cancelled = list(tasks)
    for task in cancelled:
        task.cancel()
    for task in cancelled:
        with suppress(asyncio.CancelledError):
            await task
