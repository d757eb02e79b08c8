"""Stopping the job queue leaves no job of the process running, so disposing of the engine closes every connection;
the jobs running get the drain to finish, and the others go back to the queue at once.

A job still running after `stop` keeps, or opens, connections that the disposed engine never closes: they stay
open until the garbage collector finds them (`ResourceWarning: unclosed connection`, which a later test then
reports as its own error).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy import make_url, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from taskiq import InMemoryBroker

from folio.db import create_engine, create_sessionmaker, to_async_url
from folio.jobs.queue import JobQueue
from folio.jobs.runner import JobContext
from folio.jobs.service import enqueue_system
from folio.main import create_app
from folio.migrate import upgrade_to_head
from folio.models import Job, JobStatus
from folio.observability import metrics
from folio.settings import JobSettings
from tests.conftest import make_settings
from tests.factories import register
from tests.jobs.conftest import FAST_JOBS, HANDLERS, enqueue, entered, outcomes, release


def open_connections(database_url: str) -> list[asyncpg.Connection]:
    """This process's asyncpg connections to the database that are not closed."""
    database = make_url(database_url).database
    return [
        each
        for each in gc.get_objects()
        if isinstance(each, asyncpg.Connection) and not each.is_closed() and each._params.database == database
    ]


async def statuses(database_url: str, job_ids: list[UUID]) -> set[JobStatus]:
    engine = create_async_engine(to_async_url(database_url))
    try:
        async with engine.connect() as connection:
            return set((await connection.scalars(select(Job.status).where(Job.id.in_(job_ids)))).all())
    finally:
        await engine.dispose()


async def test_jobs_delivered_as_the_queue_stops_stay_queued_and_leave_no_connection_open(
    own_database_url: str,
) -> None:
    ran: list[UUID] = []

    async def query(context: JobContext) -> None:
        ran.append(context.job_id)
        async with context.sessionmaker() as session:
            await session.execute(select(1))

    application = create_app(make_settings(own_database_url), job_handlers={"test.query": query})
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as http:
            account = await register(http)
        job_ids = [await enqueue(application, account, "test.query", dispatch=False) for _ in range(4)]
        # The broker starts a task for each delivery, and none of them has run yet when the queue stops: as when
        # the reaper's last pass dispatches while the process shuts down.
        await application.state.job_queue.dispatch(job_ids)
    broker = application.state.job_queue.broker
    assert isinstance(broker, InMemoryBroker)
    await broker.wait_all()

    assert ran == []
    assert open_connections(own_database_url) == []
    assert await statuses(own_database_url, job_ids) == {JobStatus.QUEUED}


# Draining: a queue stopping gives its running jobs `drain_seconds`, then hands the others back at once.


@pytest.fixture(scope="module")
async def engine(separate_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(separate_database_url, make_settings(separate_database_url))
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


async def started_queue(engine: AsyncEngine, *, drain_seconds: float, concurrency: int = 2) -> JobQueue:
    # A long lease: the reaper dispatches none of the test's jobs, the test does.
    settings = JobSettings.model_validate(
        {**FAST_JOBS, "lease_seconds": 60, "drain_seconds": drain_seconds, "concurrency": concurrency}
    )
    queue = JobQueue(create_sessionmaker(engine), settings, HANDLERS, None)
    await queue.start(consume=True)
    return queue


async def stalled_jobs(queue: JobQueue, count: int) -> list[UUID]:
    """`count` jobs of the stalling kind, dispatched to the queue: the first has started, the others follow it."""
    async with queue.sessionmaker() as session, session.begin():
        jobs = [enqueue_system(session, kind="test.stall", max_attempts=3) for _ in range(count)]
    first, *others = [job.id for job in jobs]
    await queue.dispatch([first])
    async with asyncio.timeout(30):
        await entered[(first, 1)].wait()
    await queue.dispatch(others)
    return [first, *others]


async def rows(engine: AsyncEngine, job_ids: list[UUID]) -> list[Job]:
    async with create_sessionmaker(engine)() as session:
        found = {job.id: job for job in (await session.scalars(select(Job).where(Job.id.in_(job_ids)))).all()}
    return [found[job_id] for job_id in job_ids]


async def test_a_job_that_finishes_within_the_drain_finishes(engine: AsyncEngine) -> None:
    queue = await started_queue(engine, drain_seconds=30)
    (job_id,) = await stalled_jobs(queue, 1)

    stopping = asyncio.create_task(queue.stop())
    await asyncio.sleep(0)  # the queue is stopping: it takes no new job
    release[(job_id, 1)].set()
    await stopping

    (job,) = await rows(engine, [job_id])
    assert (job.status, job.attempts, outcomes[(job_id, 1)]) == (JobStatus.SUCCEEDED, 1, "done")


async def test_jobs_still_running_after_the_drain_and_those_waiting_go_back_to_the_queue_at_once(
    engine: AsyncEngine,
) -> None:
    handed_back = metrics.JOB_ATTEMPTS.labels("test.stall", "handed_back")
    before = handed_back._value.get()
    queue = await started_queue(engine, drain_seconds=0.2, concurrency=1)
    running, waiting = await stalled_jobs(queue, 2)

    await queue.stop()

    for job in await rows(engine, [running, waiting]):
        # Queued, its attempt not counted, its lease gone and not on its way: a live reaper sends it at once.
        assert (job.status, job.attempts, job.lease_id, job.dispatched_at) == (JobStatus.QUEUED, 0, None, None)
    assert not entered[(waiting, 1)].is_set()
    assert handed_back._value.get() - before == 1
