"""A `folio worker` killed with SIGKILL mid-job: another worker finishes it, with no duplicate chunks."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from sqlalchemy import func, select

from folio.main import create_app
from folio.models import Chunk
from tests.cli_process import folio_env
from tests.conftest import TEST_DATA_DIR, make_settings
from tests.factories import Account, register

REDIS_URL = os.environ.get("FOLIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
FAST = {"lease_seconds": 2, "reaper_seconds": 0.2, "backoff_seconds": 0.1, "max_attempts": 10}
# About sixty chunks: long enough to be killed while embedding.
LONG_MARKDOWN = "\n\n".join(
    f"## Section {n}\n\n"
    + " ".join(f"Ledger {n}.{k} records the flood of year {1800 + n + k} in town {k}." for k in range(18))
    for n in range(60)
).encode()


@pytest.fixture
async def api(separate_database_url: str) -> AsyncIterator[FastAPI]:
    redis = Redis.from_url(REDIS_URL)
    await redis.delete("folio:jobs")
    application = create_app(make_settings(separate_database_url, redis_url=REDIS_URL, jobs=FAST))
    async with application.router.lifespan_context(application):
        yield application
    await redis.delete("folio:jobs")
    await redis.aclose()


@pytest.fixture
async def workers() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """The `folio worker` processes a test starts; any still running at the end are killed, even after a failure."""
    started: list[asyncio.subprocess.Process] = []
    yield started
    for worker in started:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()


async def start_worker(database_url: str, workers: list[asyncio.subprocess.Process]) -> asyncio.subprocess.Process:
    env = folio_env(
        FOLIO_DATABASE_URL=database_url,
        FOLIO_REDIS_URL=REDIS_URL,
        FOLIO_DATA_DIR=str(TEST_DATA_DIR),
        FOLIO_JOBS__LEASE_SECONDS=str(FAST["lease_seconds"]),
        FOLIO_JOBS__REAPER_SECONDS=str(FAST["reaper_seconds"]),
        FOLIO_LOG__LEVEL="WARNING",
    )
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "folio",
        "worker",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    workers.append(worker)
    return worker


async def job_state(client: httpx.AsyncClient, account: Account, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/api/v1/jobs/{job_id}", headers=account.headers)).json()
    return body


async def test_killed_workers_leave_a_job_another_worker_completes(
    api: FastAPI, separate_database_url: str, workers: list[asyncio.subprocess.Process]
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://testserver") as client:
        account = await register(client)
        upload = await client.post(
            "/api/v1/documents",
            files=[("files", ("ledgers.md", LONG_MARKDOWN, "text/markdown"))],
            headers=account.headers,
        )
        item = upload.json()["items"][0]
        job_id, document_id = item["job_id"], item["document"]["id"]

        kills = 0
        for _ in range(2):  # kill a worker while it embeds, twice, each time a new one takes over
            worker = await start_worker(separate_database_url, workers)
            async with asyncio.timeout(120):
                while True:
                    job = await job_state(client, account, job_id)
                    if job["stage"] == "embedding" and job["status"] == "running" and job["attempts"] == kills + 1:
                        break
                    assert job["status"] not in {"succeeded", "failed"}, job
                    await asyncio.sleep(0.05)
            worker.send_signal(signal.SIGKILL)
            await worker.wait()
            kills += 1

        survivor = await start_worker(separate_database_url, workers)
        try:
            async with asyncio.timeout(180):
                while True:
                    job = await job_state(client, account, job_id)
                    if job["status"] in {"succeeded", "failed"}:
                        break
                    await asyncio.sleep(0.1)
        finally:
            survivor.send_signal(signal.SIGTERM)
            await survivor.wait()

        assert job["status"] == "succeeded", job
        assert job["attempts"] == kills + 1
        document = (await client.get(f"/api/v1/documents/{document_id}", headers=account.headers)).json()
        assert document["status"] == "ready"
        assert document["version"] == 1

    async with api.state.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Chunk.version, Chunk.ordinal, func.count())
                .where(Chunk.document_id == UUID(document_id))
                .group_by(Chunk.version, Chunk.ordinal)
            )
        ).all()
    assert {row[0] for row in rows} == {1}
    assert all(row[2] == 1 for row in rows), "a chunk was written twice"
    assert len(rows) == document["chunk_count"] > 30
