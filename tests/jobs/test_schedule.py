"""Periodic work: each period's job is enqueued once however many processes look, and the periodic jobs prune
old events and delete orphaned files only."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.db import create_sessionmaker
from folio.documents.storage import LocalStorage
from folio.events.outbox import emit
from folio.events.schemas import BatchData, EventType
from folio.jobs.kinds import PRUNE_AUTH_FLOWS, PRUNE_EVENTS, SWEEP_FILES
from folio.jobs.schedule import Periodic, Scheduler
from folio.models import AuthFlow, Event, Job, JobStatus, Schedule
from tests.documents.test_router import ready_document, storage_key
from tests.events.emitting import commit_records
from tests.factories import register

EVERY = [Periodic("test.hourly", timedelta(hours=1)), Periodic("test.daily", timedelta(days=1))]


def quiet(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    """Sessions that reach no job queue: the test's jobs stay queued (the reaper leaves them for a lease)."""
    return create_sessionmaker(app.state.engine)


async def jobs_of(sessionmaker: async_sessionmaker[AsyncSession], kind: str) -> list[Job]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(Job).where(Job.kind == kind))).all())


async def test_each_period_is_enqueued_once_by_many_processes(app: FastAPI) -> None:
    sessionmaker = quiet(app)
    schedulers = [Scheduler(sessionmaker, EVERY) for _ in range(5)]
    enqueued = await asyncio.gather(*(scheduler.tick() for scheduler in schedulers))
    assert sum(len(ids) for ids in enqueued) == 2
    hourly = await jobs_of(sessionmaker, "test.hourly")
    assert [job.org_id for job in hourly] == [None]

    # Not due again before its period has passed.
    assert await asyncio.gather(*(scheduler.tick() for scheduler in schedulers)) == [[]] * 5

    async with sessionmaker() as session, session.begin():
        await session.execute(update(Job).values(status=JobStatus.SUCCEEDED))
        await session.execute(
            update(Schedule).where(Schedule.name == "test.hourly").values(next_run_at=datetime.now(UTC))
        )
    assert [len(ids) for ids in await asyncio.gather(*(scheduler.tick() for scheduler in schedulers))].count(1) == 1
    assert len(await jobs_of(sessionmaker, "test.hourly")) == 2
    assert len(await jobs_of(sessionmaker, "test.daily")) == 1


async def test_a_period_whose_job_still_runs_is_skipped(app: FastAPI) -> None:
    sessionmaker = quiet(app)
    scheduler = Scheduler(sessionmaker, EVERY[:1])
    [first] = await scheduler.tick()
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Job).where(Job.id == first).values(status=JobStatus.RUNNING))
        await session.execute(update(Schedule).values(next_run_at=datetime.now(UTC)))
    assert await scheduler.tick() == []
    async with sessionmaker() as session:
        schedule = await session.get(Schedule, "test.hourly")
    assert schedule is not None
    assert schedule.next_run_at > datetime.now(UTC) + timedelta(minutes=59)
    assert [job.id for job in await jobs_of(sessionmaker, "test.hourly")] == [first]


async def run_periodic(app: FastAPI, kind: str) -> Job:
    """Enqueue the periodic job `kind` as its schedule would, and wait for the app's queue to run it."""
    [job_id] = await Scheduler(app.state.sessionmaker, [Periodic(kind, timedelta(hours=1))]).tick()
    async with asyncio.timeout(30):
        while True:
            async with app.state.sessionmaker() as session:
                job = await session.get(Job, job_id)
            assert isinstance(job, Job)
            if job.status.finished:
                return job
            await asyncio.sleep(0.05)


async def test_old_events_are_pruned_and_recent_ones_and_case_history_kept(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    for _ in range(2):
        async with app.state.sessionmaker() as session, session.begin():
            data = BatchData(filename="batch.csv", status="failed")
            emit(session, org_id=account.org_id, type=EventType.BATCH_FAILED, subject_id=None, data=data)
    await commit_records(app.state.sessionmaker, account.org_id)
    async with app.state.sessionmaker() as session, session.begin():
        old_batch, recent_batch, old_case = (
            await session.scalars(select(Event.id).where(Event.org_id == account.org_id).order_by(Event.id))
        ).all()
        await session.execute(
            update(Event)
            .where(Event.id.in_([old_batch, old_case]))
            .values(created_at=datetime.now(UTC) - timedelta(days=31))
        )
    job = await run_periodic(app, PRUNE_EVENTS)
    assert job.status is JobStatus.SUCCEEDED, job.error_message
    async with app.state.sessionmaker() as session:
        left = (await session.scalars(select(Event.id).where(Event.org_id == account.org_id))).all()
    assert sorted(left) == [recent_batch, old_case]


async def test_only_old_unreferenced_files_are_swept(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register(client)
    document = await ready_document(client, account)
    storage: LocalStorage = app.state.storage
    used = storage.local_path(await storage_key(app, document["id"]))
    orphan, young = storage.local_path("aa/bb/" + "a" * 32), storage.local_path("aa/cc/" + "b" * 32)
    partial = storage.root / "tmp" / "abandoned"
    for path in (orphan, young, partial):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"left behind")
    two_hours_ago = time.time() - 7200
    for path in (used, orphan, partial):
        os.utime(path, (two_hours_ago, two_hours_ago))

    job = await run_periodic(app, SWEEP_FILES)
    assert job.status is JobStatus.SUCCEEDED, job.error_message

    assert used.exists()
    assert young.exists()
    assert not orphan.exists()
    assert not partial.exists()


async def test_sign_in_flows_expired_over_a_day_ago_are_pruned(app: FastAPI) -> None:
    moment = datetime.now(UTC)
    expiries = {"long gone": moment - timedelta(days=2), "late": moment - timedelta(hours=2), "live": moment}
    async with app.state.sessionmaker() as session, session.begin():
        for name, expires_at in expiries.items():
            session.add(
                AuthFlow(state_hash=name, purpose="sign_in", provider="p", redirect_uri="u", expires_at=expires_at)
            )
    job = await run_periodic(app, PRUNE_AUTH_FLOWS)
    assert job.status is JobStatus.SUCCEEDED, job.error_message
    async with app.state.sessionmaker() as session:
        left = set(await session.scalars(select(AuthFlow.state_hash)))
    # A flow expired recently is kept, so that its late callback is told it expired rather than unknown.
    assert left == {"late", "live"}
