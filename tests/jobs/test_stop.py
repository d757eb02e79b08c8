"""Stopping the job queue leaves no job of the process running, so disposing of the engine closes every connection.

A job still running after `stop` keeps, or opens, connections that the disposed engine never closes: they stay
open until the garbage collector finds them (`ResourceWarning: unclosed connection`, which a later test then
reports as its own error).
"""

from __future__ import annotations

import gc
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import make_url, select
from sqlalchemy.ext.asyncio import create_async_engine
from taskiq import InMemoryBroker

from folio.db import to_async_url
from folio.jobs.runner import JobContext
from folio.main import create_app
from folio.models import Job, JobStatus
from tests.conftest import make_settings
from tests.factories import register
from tests.jobs.conftest import enqueue


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
