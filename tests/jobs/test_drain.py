"""SIGTERM drains a real `folio worker`: jobs that finish within FOLIO_JOBS__DRAIN_SECONDS finish, the others go
back to the queue at once (their attempt not counted, their stream message acknowledged) and another worker runs
them long before their lease would have expired. The workers' metrics endpoint shows what they did.

The processes share a Redis of the module's own (its stream meets no other test's worker), a database of the
module's own and a data directory. Embeddings come from a stand-in endpoint that answers a text holding `SLOW`
after half a second and one holding `HOLD` only once the test lets it, so a job is running for as long as the
test needs. The lease is long (300 s): a job waiting for its lease to expire would outlast every deadline here.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from folio.main import create_app
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, make_settings
from tests.factories import Account, register, wait_until_finished
from tests.live_server import serve_in_thread
from tests.processes import Process, RedisServer, folio_process, free_port, log_text, terminate, until_logged

REDIS_SERVER = shutil.which("redis-server")
WAIT_SECONDS = 60.0
DRAIN_SECONDS = 5
STREAM, GROUP = "folio:jobs", "folio-workers"

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed")


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """The module's processes use a database of their own."""


@dataclass
class Embeddings:
    """An OpenAI-compatible /v1/embeddings that takes its time with some texts."""

    released: threading.Event = field(default_factory=threading.Event)
    texts: list[str] = field(default_factory=list)
    url: str = ""

    async def embed(self, request: Request) -> JSONResponse:
        body = await request.json()
        inputs: list[str] = body["input"]
        self.texts.extend(inputs)
        if any("HOLD" in text for text in inputs):
            await asyncio.to_thread(self.released.wait)
        elif any("SLOW" in text for text in inputs):
            await asyncio.sleep(0.5)
        data = [{"object": "embedding", "index": i, "embedding": _vector(i)} for i in range(len(inputs))]
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": _usage(inputs)})

    def received(self, marker: str) -> bool:
        return any(marker in text for text in self.texts)


def _vector(seed: int) -> list[float]:
    return [float(value) for value in np.random.default_rng(seed).normal(size=384)]


def _usage(inputs: list[str]) -> dict[str, int]:
    return {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}


@contextmanager
def embeddings_endpoint() -> Iterator[Embeddings]:
    embeddings = Embeddings()
    app = Starlette(routes=[Route("/v1/embeddings", embeddings.embed, methods=["POST"])])
    with serve_in_thread(app, lifespan="off") as url:
        embeddings.url = f"{url}/v1"
        try:
            yield embeddings
        finally:
            embeddings.released.set()  # a request still held must not keep the server from stopping


@dataclass
class Topology:
    api: FastAPI
    redis: Redis
    embeddings: Embeddings
    root: Path
    settings: Mapping[str, str]
    stack: AsyncExitStack

    async def worker(self, name: str, *args: str) -> tuple[Process, Path]:
        log = self.root / f"{name}.log"
        settings = {**self.settings, "FOLIO_LOG__LEVEL": "INFO"}
        process = folio_process("worker", *args, data_dir=self.root / "data", settings=settings, log=log)
        started = await self.stack.enter_async_context(process)
        await until_logged("Worker running", started, log, seconds=WAIT_SECONDS)
        return started, log


@pytest.fixture(scope="module")
async def topology(separate_database_url: str) -> AsyncIterator[Topology]:
    assert REDIS_SERVER is not None
    async with AsyncExitStack() as stack:
        root = Path(tempfile.mkdtemp(prefix="folio-drain-"))
        stack.callback(shutil.rmtree, root, ignore_errors=True)
        redis_server = RedisServer(REDIS_SERVER, root / "redis.log")
        stack.push_async_callback(redis_server.stop)
        await redis_server.start()
        embeddings = stack.enter_context(embeddings_endpoint())
        jobs = {"lease_seconds": 300, "reaper_seconds": 0.2, "drain_seconds": DRAIN_SECONDS, "concurrency": 2}
        model = {"provider": "openai", "base_url": embeddings.url, "api_key": "sk-test", "max_retries": 0}
        api = create_app(
            make_settings(
                separate_database_url,
                redis_url=redis_server.url,
                data_dir=str(root / "data"),
                jobs=jobs,
                embeddings=model,
            )
        )
        await stack.enter_async_context(api.router.lifespan_context(api))
        redis = Redis.from_url(redis_server.url)
        stack.push_async_callback(redis.aclose)
        settings = {
            "FOLIO_DATABASE_URL": separate_database_url,
            "FOLIO_REDIS_URL": redis_server.url,
            "FOLIO_AUTH__JWT_SECRET": TEST_JWT_SECRET,
            "FOLIO_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
            **{f"FOLIO_JOBS__{name.upper()}": str(value) for name, value in jobs.items()},
            **{f"FOLIO_EMBEDDINGS__{name.upper()}": str(value) for name, value in model.items()},
        }
        yield Topology(api, redis, embeddings, root, settings, stack)


async def upload(client: httpx.AsyncClient, account: Account, name: str, marker: str) -> UUID:
    content = f"# {name}\n\nThe {name} ledger ({marker}) keeps every flood of the valley.".encode()
    response = await client.post(
        "/api/v1/documents", files=[("files", (f"{name}.md", content, "text/markdown"))], headers=account.headers
    )
    assert response.status_code == 202, response.text
    return UUID(response.json()["items"][0]["job_id"])


async def job(client: httpx.AsyncClient, account: Account, job_id: UUID) -> dict[str, Any]:
    response = await client.get(f"/api/v1/jobs/{job_id}", headers=account.headers)
    body: dict[str, Any] = response.json()
    return body


async def until(condition: Any, what: str) -> None:
    try:
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                if condition():
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"{what} did not happen within {WAIT_SECONDS} s") from None


async def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url)
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def test_sigterm_finishes_short_jobs_and_hands_long_ones_back_to_another_worker(topology: Topology) -> None:
    first, first_log = await topology.worker("first")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=topology.api), base_url="http://testserver"
    ) as client:
        account = await register(client)
        long_job = await upload(client, account, "long", "HOLD")
        short_job = await upload(client, account, "short", "SLOW")
        embeddings = topology.embeddings
        await until(lambda: embeddings.received("HOLD") and embeddings.received("SLOW"), "both jobs embedding")

        first.send_signal(signal.SIGTERM)
        async with asyncio.timeout(WAIT_SECONDS):
            assert await first.wait() == 0

        # The short job finished within the drain; the long one is back in the queue, its attempt not counted, and
        # no message waits for the dead worker's `idle_timeout`.
        short = await job(client, account, short_job)
        assert (short["status"], short["attempts"]) == ("succeeded", 1)
        handed_back = await job(client, account, long_job)
        assert (handed_back["status"], handed_back["attempts"]) == ("queued", 0)
        assert (await topology.redis.xpending(STREAM, GROUP))["pending"] == 0
        assert "job_handed_back" in log_text(first_log)

        topology.embeddings.released.set()
        metrics_port = free_port()
        second, _ = await topology.worker("second", "--metrics-port", str(metrics_port))
        finished = await wait_until_finished(client, account, long_job, seconds=WAIT_SECONDS)
        assert (finished["status"], finished["attempts"]) == ("succeeded", 1)

        samples = await scrape(f"http://127.0.0.1:{metrics_port}/metrics")
        await terminate(second)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, frozenset(labels.items())), 0.0)

    assert value("folio_job_attempts_total", kind="ingest_document", outcome="succeeded") == 1
    assert value("folio_job_duration_seconds_count", kind="ingest_document", outcome="succeeded") == 1
    assert value("folio_ingestion_pages_total", format="markdown") == 1
    assert value("folio_ingestion_chunks_total") >= 1
    assert value("folio_embedding_texts_total", provider="openai") >= 1
    assert value("folio_embedding_duration_seconds_count", provider="openai") >= 1
    assert ("folio_jobs_queued", frozenset({("kind", "ingest_document")})) in samples
