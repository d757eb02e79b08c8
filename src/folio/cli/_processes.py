"""The server's long-running processes: the API (`folio serve`) and the job worker (`folio worker`)."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
from pathlib import Path
from typing import Any

import uvicorn
from prometheus_client import start_http_server
from redis.asyncio import Redis

from folio.cli._database import engine_for
from folio.cli.output import EXIT_USAGE, fail, say
from folio.db import create_sessionmaker
from folio.documents.storage import storage_for
from folio.embeddings.factory import LazyProvider, identity
from folio.embeddings.index import check_embedding_index
from folio.events.bus import RedisBus
from folio.events.outbox import BUS
from folio.jobs.handlers import build_handlers
from folio.jobs.periodic import periodic_work
from folio.jobs.queue import JobQueue
from folio.jobs.service import JOB_QUEUE
from folio.llm.registry import LLMRegistry
from folio.observability.logging import configure_logging
from folio.observability.startup import log_startup
from folio.settings import Settings
from folio.usage.service import meter_for
from folio.webhooks.fanout import running_fan_out


def serve(configured: Settings, *, host: str | None, port: int | None, workers: int, reload: bool) -> None:
    if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        # Every worker writes its metrics here, so /metrics adds up all of them, whichever worker answers.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="folio-metrics-")
    uvicorn.run(
        "folio.main:create_app",
        factory=True,
        host=host or configured.host,
        port=port or configured.port,
        workers=workers,
        reload=reload,
        log_config=None,
        # Folio writes its own access line (folio.observability.access); uvicorn's would only be built and dropped.
        access_log=False,
        # No `server: uvicorn` on every response: it tells a scanner what to try, and costs a header per response.
        server_header=False,
        # On SIGTERM, requests still running get this long to finish (live event streams end at once, telling their
        # clients to reconnect: `folio.events.hub.streams_end_first`); then the jobs running in this process get
        # FOLIO_JOBS__DRAIN_SECONDS.
        timeout_graceful_shutdown=10,
        # What a WebSocket client can make the server buffer before the 4 KiB message check (uvicorn: 16 MiB).
        ws_max_size=64 * 1024,
        forwarded_allow_ips=",".join(configured.http.trusted_proxies) or None,
        proxy_headers=bool(configured.http.trusted_proxies),
    )


def worker(configured: Settings, *, metrics_port: int | None, metrics_host: str, heartbeat_file: Path | None) -> None:
    redis_url = configured.redis_url
    if redis_url is None:
        fail("folio worker needs FOLIO_REDIS_URL. Without Redis the API process runs jobs itself.", EXIT_USAGE)
    # Jobs are work nobody waits on at the moment: on a shared host, requests go first (the extraction processes
    # it forks inherit this).
    os.nice(configured.jobs.worker_niceness)
    configure_logging(configured.log)
    log_startup(configured, "worker")

    async def run() -> None:
        async with engine_for(configured) as engine:
            await check_embedding_index(engine, *identity(configured.embeddings))
            embedder = LazyProvider(configured.embeddings)
            llm = LLMRegistry(configured)
            redis = Redis.from_url(redis_url)
            outlets: dict[str, Any] = {BUS: RedisBus(redis)}
            sessionmaker = create_sessionmaker(engine, outlets)
            meter = meter_for(configured, sessionmaker)
            storage = storage_for(configured)
            periodics, periodic_handlers = periodic_work(configured, storage)
            handlers = {**build_handlers(configured, storage, embedder, llm, meter), **periodic_handlers}
            queue = outlets[JOB_QUEUE] = JobQueue(
                sessionmaker, configured.jobs, handlers, redis_url, periodics, heartbeat=heartbeat_file
            )
            stopping = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stopping.set)
            exporter = None if metrics_port is None else start_http_server(metrics_port, addr=metrics_host)[0]
            await queue.start(consume=True)
            say(f"Worker running {configured.jobs.concurrency} jobs at a time; Ctrl-C stops it.")
            try:
                async with running_fan_out(sessionmaker, configured.webhooks):
                    await stopping.wait()
            finally:
                await queue.stop()
                if exporter is not None:
                    exporter.shutdown()
                await embedder.close()
                await llm.close()
                await redis.aclose()

    asyncio.run(run())
