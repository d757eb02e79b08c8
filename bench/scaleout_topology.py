"""The processes of the scale-out benchmark, and the faults done to them.

Two `folio serve` and two `folio worker` share one PostgreSQL (the embedded server, on its Unix socket, reached
through FOLIO_DATABASE_URL), one Redis (a `redis-server` of the run's own, without persistence) and one file store:
an S3 endpoint (moto in server mode) once Folio has an S3 backend (`folio.documents.storage.storage_for`), else a
data directory they all share. Faults: SIGKILL a process and start it again, restart Redis (it comes back empty),
stop PostgreSQL for a while (`pg_ctl stop -m fast`, then `start` on the same data directory and socket).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from tests.processes import Process, RedisServer, folio_process, free_port, until_answering, until_logged

import folio.documents.storage
from folio.db import create_engine
from folio.embedded_postgres import EmbeddedPostgres
from folio.migrate import upgrade_to_head
from folio.settings import Settings

BUCKET = "folio-scaleout"
# Whatever the runner needs to reach pg_ctl: pgserver runs the server as this user when started by root.
PG_SYSTEM_USER = "pgserver" if os.geteuid() == 0 else None


def pg_ctl_path() -> Path:
    from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / "pg_ctl"


@dataclass
class Member:
    """One `folio` process of the topology, started again under the same name and port after a kill (each start
    logs to a file of its own)."""

    name: str
    args: tuple[str, ...]
    logs: Path
    ready_url: str | None
    process: Process | None = None
    starts: int = 0

    @property
    def log(self) -> Path:
        return self.logs / f"{self.name}.{self.starts}.log"

    @property
    def started(self) -> Process:
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process


@dataclass
class Topology:
    root: Path
    database: EmbeddedPostgres
    pgdata: Path
    redis: RedisServer
    settings: dict[str, str]
    storage: str
    apis: list[Member] = field(default_factory=list)
    workers: list[Member] = field(default_factory=list)
    stack: AsyncExitStack = field(default_factory=AsyncExitStack)

    @property
    def api_urls(self) -> list[str]:
        return [member.ready_url.removesuffix("/health/ready") for member in self.apis if member.ready_url]

    async def start(self, member: Member) -> None:
        member.starts += 1
        member.process = await self.stack.enter_async_context(
            folio_process(*member.args, data_dir=self.root / "data", settings=self.settings, log=member.log)
        )

    async def until_ready(self, member: Member) -> None:
        if member.ready_url is not None:
            await until_answering(member.ready_url, member.started, member.log, seconds=300)
        else:
            await until_logged("Worker running", member.started, member.log, seconds=300)

    async def restart(self, member: Member, *, tries: int = 5) -> None:
        """Start it again until it is ready: one that exits while starting (PostgreSQL is down) is started anew."""
        for _ in range(tries - 1):
            await self.start(member)
            try:
                await self.until_ready(member)
                return
            except AssertionError:
                await asyncio.sleep(1)
        await self.start(member)
        await self.until_ready(member)

    async def kill(self, member: Member) -> None:
        """SIGKILL, as a node or container that dies: no drain, no cleanup."""
        member.started.send_signal(signal.SIGKILL)
        await member.started.wait()

    async def restart_redis(self) -> None:
        await self.redis.stop()
        await self.redis.start()

    async def stop_postgres(self) -> None:
        await asyncio.to_thread(self._pg_ctl, "-m", "fast", "-w", "stop")

    async def start_postgres(self) -> None:
        socket_dir = parse_qs(urlsplit(self.database.url).query)["host"][0]
        log = str(self.pgdata / "log")
        await asyncio.to_thread(self._pg_ctl, "-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", log, "start")

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [str(pg_ctl_path()), "-D", str(self.pgdata), *args],
            check=True,
            user=PG_SYSTEM_USER,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def postgres_running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()


def s3_backend_exists() -> bool:
    return hasattr(folio.documents.storage, "storage_for")


@asynccontextmanager
async def moto_server(root: Path) -> AsyncIterator[dict[str, str]]:
    """moto in server mode on a free port with the run's bucket; yields the FOLIO_STORAGE__* settings for it."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with (root / "moto.log").open("ab") as output:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "moto_server"),
            *("-H", "127.0.0.1", "-p", str(port)),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        async with asyncio.timeout(60), httpx.AsyncClient(timeout=2) as client:
            while True:
                try:
                    # moto checks no signature: a bare PUT makes the bucket.
                    if (await client.put(f"{endpoint}/{BUCKET}")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield {
            "FOLIO_STORAGE__BACKEND": "s3",
            "FOLIO_STORAGE__BUCKET": BUCKET,
            "FOLIO_STORAGE__ENDPOINT_URL": endpoint,
            "FOLIO_STORAGE__ACCESS_KEY_ID": "scaleout",
            "FOLIO_STORAGE__SECRET_ACCESS_KEY": "scaleout-secret",
        }
    finally:
        process.terminate()
        await process.wait()


async def stored_objects(settings: dict[str, str]) -> int | None:
    """How many objects the bucket holds (the first 1,000 at most), or None when files are on local disk."""
    endpoint = settings.get("FOLIO_STORAGE__ENDPOINT_URL")
    if endpoint is None:
        return None
    async with httpx.AsyncClient(timeout=10) as client:
        listing = (await client.get(f"{endpoint}/{BUCKET}", params={"list-type": "2"})).text
    return listing.count("<Key>")


@asynccontextmanager
async def topology(root: Path) -> AsyncIterator[Topology]:
    """Everything started and ready (migrated database, Redis, the store, 2 APIs, 2 workers); stopped in reverse
    order at the end, whatever happened meanwhile."""
    pgdata = root / "pg"
    database = await asyncio.to_thread(EmbeddedPostgres, pgdata)
    redis = RedisServer(shutil.which("redis-server") or "redis-server", root / "redis.log")
    async with AsyncExitStack() as outer:
        # pgserver stops only the server it started itself; after an outage it is another one, stopped here after.
        outer.push_async_callback(_stop_postgres_if_running, pgdata)
        outer.push_async_callback(asyncio.to_thread, database.release)
        engine = create_engine(database.url, Settings(_env_file=None, database_url=database.url))
        await upgrade_to_head(engine)
        await engine.dispose()
        outer.push_async_callback(redis.stop)
        await redis.start()
        storage: dict[str, str] = {}
        if s3_backend_exists():
            storage = await outer.enter_async_context(moto_server(root))
        settings = {
            "FOLIO_DATABASE_URL": database.url,
            "FOLIO_REDIS_URL": redis.url,
            "FOLIO_DB__MIGRATE_ON_START": "false",
            # Every client comes from 127.0.0.1: per-address limits would measure the limiter, not the topology.
            "FOLIO_RATE_LIMIT__AUTH": "1000000/minute",
            "FOLIO_RATE_LIMIT__USER": "1000000/minute",
            "FOLIO_RATE_LIMIT__API_KEY": "1000000/minute",
            "FOLIO_RATE_LIMIT__ANONYMOUS": "1000000/minute",
            "FOLIO_AUTH__ACCESS_TOKEN_MINUTES": "120",
            # A killed worker's jobs come back after a lease; short enough to settle within the run.
            "FOLIO_JOBS__LEASE_SECONDS": "15",
            "FOLIO_JOBS__REAPER_SECONDS": "1",
            "FOLIO_EVENTS__HEARTBEAT_SECONDS": "5",
            "FOLIO_LOG__LEVEL": "WARNING",
            **storage,
        }
        run = Topology(root, database, pgdata, redis, settings, "s3 (moto)" if storage else "local (shared dir)")
        outer.push_async_callback(run.stack.aclose)
        for number in (1, 2):
            port = free_port()
            run.apis.append(
                Member(
                    f"api{number}",
                    ("serve", "--port", str(port)),
                    root,
                    f"http://127.0.0.1:{port}/health/ready",
                )
            )
            run.workers.append(Member(f"worker{number}", ("worker",), root, None))
        members = run.apis + run.workers
        for member in members:
            await run.start(member)
        await asyncio.gather(*(run.until_ready(member) for member in members))
        yield run


async def _stop_postgres_if_running(pgdata: Path) -> None:
    if (pgdata / "postmaster.pid").exists():
        await asyncio.to_thread(
            subprocess.run,
            [str(pg_ctl_path()), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
            user=PG_SYSTEM_USER,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
