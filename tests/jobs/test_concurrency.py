"""FOLIO_JOBS__CONCURRENCY holds in the embedded default: the in-memory broker starts every message at once, so
the queue bounds the jobs it runs, claims a job only once it has a slot, and keeps one waiting delivery per job."""

from __future__ import annotations

import asyncio
import os
import threading
from contextlib import suppress
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from taskiq import InMemoryBroker

from folio.jobs import queue
from folio.jobs.runner import JobContext
from folio.main import create_app
from folio.models import Job, JobStatus
from tests.conftest import make_settings
from tests.factories import register, wait_until_finished
from tests.ingestion.fixtures import write_pdf
from tests.jobs.conftest import enqueue
from tests.processes import extraction_processes


class Gauge:
    """How many jobs run at once, and the most seen."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    async def hold(self, context: JobContext) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await asyncio.sleep(context.payload["seconds"])
        finally:
            self.now -= 1


async def _running_tasks_end(application: FastAPI) -> None:
    """Stopping does not wait for in-process jobs; one still running would use an engine already disposed."""
    broker = _broker(application)
    async with asyncio.timeout(60):
        while broker._running_tasks:
            await asyncio.gather(*broker._running_tasks, return_exceptions=True)


def _broker(application: FastAPI) -> InMemoryBroker:
    broker = application.state.job_queue.broker
    assert isinstance(broker, InMemoryBroker)
    return broker


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_the_embedded_broker_runs_at_most_the_configured_number_of_jobs(
    own_database_url: str, concurrency: int
) -> None:
    gauge = Gauge()
    # Twenty jobs of 0.25 s, one at a time, outlast a 3 s lease: a job waiting for a slot must not be taken for
    # lost, and the reaper's dispatches of queued jobs must not pile up as more waiting deliveries.
    jobs = {"concurrency": concurrency, "lease_seconds": 3, "reaper_seconds": 0.1}
    application = create_app(make_settings(own_database_url, jobs=jobs), job_handlers={"test.hold": gauge.hold})
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        account = await register(http)
        job_ids = [await enqueue(application, account, "test.hold", seconds=0.25) for _ in range(20)]

        broker = _broker(application)
        most_deliveries = most_running = 0

        async def count() -> None:
            nonlocal most_deliveries, most_running
            while True:
                most_deliveries = max(most_deliveries, len(broker._running_tasks))
                async with application.state.sessionmaker() as session:
                    running = await session.scalar(
                        select(func.count()).select_from(Job).where(Job.status == JobStatus.RUNNING)
                    )
                most_running = max(most_running, running or 0)
                await asyncio.sleep(0.01)

        counting = asyncio.create_task(count())
        try:
            finished = [await wait_until_finished(http, account, job_id, seconds=60) for job_id in job_ids]
        finally:
            counting.cancel()
            with suppress(asyncio.CancelledError):
                await counting
        await _running_tasks_end(application)

    assert gauge.most == concurrency
    assert most_running <= concurrency  # a job is claimed only once it has a slot
    assert [job["status"] for job in finished] == ["succeeded"] * 20
    assert [job["attempts"] for job in finished] == [1] * 20  # none claimed before its slot, so none lost
    assert most_deliveries <= len(job_ids)


async def test_jobs_beyond_the_waiting_room_are_left_queued_and_run_later(
    own_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past MAX_WAITING ids waiting here, a dispatch is dropped: the reaper sends the job again a lease later."""
    monkeypatch.setattr(queue, "MAX_WAITING", 3)
    gauge = Gauge()
    jobs = {"concurrency": 1, "lease_seconds": 0.5, "reaper_seconds": 0.1}
    application = create_app(make_settings(own_database_url, jobs=jobs), job_handlers={"test.hold": gauge.hold})
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        account = await register(http)
        job_ids = [await enqueue(application, account, "test.hold", seconds=0.05) for _ in range(8)]
        most_waiting = len(application.state.job_queue.slots.waiting)
        finished = [await wait_until_finished(http, account, job_id, seconds=60) for job_id in job_ids]
        await _running_tasks_end(application)

    assert most_waiting == 3
    assert [job["status"] for job in finished] == ["succeeded"] * 8
    assert gauge.most == 1


async def test_an_upload_of_many_files_extracts_at_most_the_configured_number_at_once(
    own_database_url: str, tmp_path: Path
) -> None:
    """The real ingestion job: its extraction child processes are counted from /proc while the jobs run."""
    # Many short pages: each extraction child lives a while, yet there is little text to embed.
    pdfs = [
        write_pdf(tmp_path / f"{number}.pdf", [[f"report {number} page {page}"] for page in range(250)]).read_bytes()
        for number in range(10)
    ]
    most_processes = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal most_processes
        root = os.getpid()
        while not stop.is_set():
            most_processes = max(most_processes, extraction_processes(root))
            stop.wait(0.002)

    settings = make_settings(own_database_url, data_dir=tmp_path / "data", jobs={"concurrency": 2})
    application = create_app(settings)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http,
        ):
            account = await register(http)
            responses = await asyncio.gather(
                *(
                    http.post(
                        "/api/v1/documents",
                        files=[("files", (f"report{number}.pdf", pdf, "application/pdf"))],
                        headers=account.headers,
                    )
                    for number, pdf in enumerate(pdfs)
                )
            )
            assert [response.status_code for response in responses] == [202] * 10
            job_ids = [UUID(response.json()["items"][0]["job_id"]) for response in responses]
            jobs = [await wait_until_finished(http, account, job_id, seconds=120) for job_id in job_ids]
            await _running_tasks_end(application)
    finally:
        stop.set()
        sampler.join()

    assert [job["status"] for job in jobs] == ["succeeded"] * 10, jobs
    assert 1 <= most_processes <= 2
