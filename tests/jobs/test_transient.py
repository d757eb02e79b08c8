"""Passing database faults (a terminated backend) are retried where a second run is harmless: any transaction given
to `retrying`, the runner's claim and outcome, the reaper's pass. Other errors are not retried."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from folio.db import create_engine, create_sessionmaker
from folio.db_retry import retrying
from folio.jobs.errors import WorkerLost
from folio.jobs.queue import JobQueue
from folio.jobs.runner import JobRunner
from folio.jobs.service import enqueue_system
from folio.migrate import upgrade_to_head
from folio.models import Job, JobStatus
from folio.settings import JobSettings
from tests.conftest import make_settings
from tests.jobs.conftest import FAST_JOBS, HANDLERS, runs
from tests.jobs.faults import backend_terminated


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """The module works in a database of its own."""


@pytest.fixture(scope="module")
async def engine(separate_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(separate_database_url, make_settings(separate_database_url))
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


async def job_row(sessionmaker: async_sessionmaker[AsyncSession], job_id: UUID) -> Job:
    async with sessionmaker() as session:
        job = await session.scalar(select(Job).where(Job.id == job_id))
    assert job is not None
    return job


async def system_job(sessionmaker: async_sessionmaker[AsyncSession], kind: str) -> UUID:
    async with sessionmaker() as session, session.begin():
        job = enqueue_system(session, kind=kind, max_attempts=3)
    return job.id


async def test_a_transaction_whose_backend_was_terminated_runs_again(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tries = 0

    async def answer() -> int:
        nonlocal tries
        tries += 1
        async with sessionmaker() as session, session.begin():
            value: int = (await session.execute(text("SELECT 41 + 1 AS answer"))).scalar_one()
        return value

    with backend_terminated(engine, "41 + 1") as broken:
        assert await retrying(answer, operation="test") == 42
    assert len(broken) == 1
    assert tries == 2


async def test_the_retry_gives_up_after_its_attempts(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    tries = 0

    async def answer() -> None:
        nonlocal tries
        tries += 1
        async with sessionmaker() as session, session.begin():
            await session.execute(text("SELECT 'always broken'"))

    with backend_terminated(engine, "always broken", times=10), pytest.raises(DBAPIError):
        await retrying(answer, operation="test", attempts=2)
    assert tries == 2


async def test_an_error_that_would_happen_again_is_not_retried(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    tries = 0

    async def divide() -> None:
        nonlocal tries
        tries += 1
        async with sessionmaker() as session, session.begin():
            await session.execute(text("SELECT 1 / 0"))

    with pytest.raises(DBAPIError, match="division by zero"):
        await retrying(divide, operation="test")
    assert tries == 1


@pytest.mark.parametrize(
    "marker",
    [
        "attempts=(jobs.attempts +",  # the claim
        "finished_at=now()",  # the outcome
    ],
)
async def test_a_job_whose_claim_or_outcome_lost_its_connection_runs_once_and_succeeds(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], marker: str
) -> None:
    job_id = await system_job(sessionmaker, "test.echo")
    runner = JobRunner(sessionmaker, JobSettings.model_validate(FAST_JOBS), HANDLERS)

    with backend_terminated(engine, marker) as broken:
        await runner.run(job_id)

    assert len(broken) == 1
    job = await job_row(sessionmaker, job_id)
    assert (job.status, job.attempts, runs[job_id]) == (JobStatus.SUCCEEDED, 1, 1)


async def test_a_reaper_pass_that_lost_its_connection_runs_again(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    job_id = await system_job(sessionmaker, "test.echo")
    async with sessionmaker() as session, session.begin():
        # Its worker died on its last attempt: the reaper fails it for good.
        await session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(
                status=JobStatus.RUNNING,
                attempts=3,
                lease_expires_at=datetime.now(UTC) - timedelta(minutes=1),
                lease_id=job_id,
            )
        )
    queue = JobQueue(sessionmaker, JobSettings.model_validate(FAST_JOBS), HANDLERS, None)

    with backend_terminated(engine, "lease_expires_at < now()") as broken:
        await queue.reap()
    await queue.stop()

    assert len(broken) == 1
    job = await job_row(sessionmaker, job_id)
    assert (job.status, job.error_code) == (JobStatus.FAILED, WorkerLost.code)
