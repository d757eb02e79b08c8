"""Scale-out: the API only dispatches over a Redis stream; a worker consumes and runs the job."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from folio.jobs.queue import JobQueue
from folio.main import create_app
from tests.conftest import make_settings
from tests.factories import register, wait_until_finished
from tests.jobs.conftest import FAST_JOBS, HANDLERS, enqueue, runs

REDIS_URL = os.environ.get("FOLIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    await client.delete("folio:jobs")
    yield client
    await client.delete("folio:jobs")
    await client.aclose()


async def test_the_api_dispatches_and_a_worker_runs_the_job(database_url: str, redis: Redis) -> None:
    settings = make_settings(database_url, redis_url=REDIS_URL, jobs=FAST_JOBS)
    application = create_app(settings, job_handlers=HANDLERS)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        assert not application.state.job_queue.embedded
        account = await register(client)
        job_id = await enqueue(application, account, "test.echo")

        await asyncio.sleep(0.5)
        waiting = await client.get(f"/api/v1/jobs/{job_id}", headers=account.headers)
        assert waiting.json()["status"] == "queued", "the API process must not run jobs when Redis carries them"
        assert await redis.xlen("folio:jobs") == 1

        worker = JobQueue(application.state.sessionmaker, settings.jobs, HANDLERS, REDIS_URL)
        await worker.start(consume=True)
        try:
            job = await wait_until_finished(client, account, job_id)
        finally:
            await worker.stop()

    assert job["status"] == "succeeded"
    assert runs[job_id] == 1
