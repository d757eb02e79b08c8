"""Syncing a Notion workspace of 5,000 pages: the first sync, a resync with nothing changed, a resync after edits.

The fake Notion of the tests (tests/integrations/fakes/notion.py: Notion's REST API over real HTTP, pages of one
paragraph from `seed`) runs in a process of its own, so its CPU is not the app's. The app runs in this process as the
tests run it: `create_app` on an embedded PostgreSQL under a temporary directory, jobs in-process at the default
concurrency (2), the real local embedding model, driven through its API over httpx's ASGI transport. A small upload
in another organization loads the model first.

1. First sync. The `sync_integration` job's own time (list, fetch each page and its blocks, render Markdown, store
   the file and the document, enqueue its ingestion) gives "fetch and convert" pages/s. Ingestion (extraction,
   chunking, embedding: the model-bound part) starts as each document commits, on the job slot the sync leaves free,
   and goes on after it; "index" pages/s is the documents indexed over the time from the first ingestion's start to
   the last one's end. The wait for indexing stops `--index-seconds` after the sync; what is left is cancelled, so
   the resyncs are measured on a quiet app (their listing does not depend on the documents being indexed).
2. Resync with nothing changed: the job's time and its requests (the sync's history, checked against the fake's
   log). Goal: < 10 s and <= 1 request per 100 pages.
3. Resync after editing `--edits` pages spread over the workspace: time, requests, documents updated, and the time
   until they are indexed again.

Times are the job rows' `started_at` to `finished_at`. CPU seconds per phase: this process (app, jobs, the
embedding thread), the extraction processes, PostgreSQL and the fake, from /proc. SQL statements are counted on
the app's engine (the driver's polling of the job, 5 a second, and the app's own loops included). `--profile FILE`
adds one more no-change resync, not in the table, under cProfile (the event loop's thread), and prints where its
time went.

    python bench/sync.py                  # --pages 5000 --edits 50 --index-seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI
from sqlalchemy import event, func, select, update

# The benchmarks' helpers and the repository's root (for the tests' fake Notion).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).parent))
from tests.integrations.fakes.notion import TOKEN, FakeNotion, paragraph
from tests.live_server import serve_in_thread

from folio.embedded_postgres import EmbeddedPostgres
from folio.jobs.kinds import INGEST_DOCUMENT
from folio.main import create_app
from folio.models import Chunk, Document, DocumentStatus, Job, JobStatus
from folio.settings import Settings
from results import machine, record

SECTION = "## Integrations: syncing Notion"
PASSWORD = "benchmark passphrase 2026"
GOAL_SECONDS = 10.0
GOAL_REQUESTS_PER_100 = 1.0
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
TICK = os.sysconf("SC_CLK_TCK")


# The fake Notion's process: seeds the pages, serves them, and answers the driver between phases.


def fake_notion(pages: int, control: Connection) -> None:
    fake = FakeNotion()
    ids = fake.seed(pages)
    with serve_in_thread(fake.app()) as url:
        control.send(url)
        while True:
            command, count = control.recv()
            if command == "stop":
                return
            if command == "edit":
                for number, page_id in enumerate(ids[:: max(1, len(ids) // count)][:count]):
                    fake.edit_page(page_id, title=f"Edited page {number}", blocks=[paragraph(f"Edited text {number}.")])
                control.send(None)
            elif command == "calls":
                control.send(dict(Counter(_endpoint(call.path) for call in fake.calls())))
                fake.requests.clear()


def _endpoint(path: str) -> str:
    if path == "/v1/search" or path.endswith("/query"):
        return "listing"
    if path.startswith("/v1/pages/"):
        return "page"
    return "blocks" if path.startswith("/v1/blocks/") else "other"


class Fake:
    def __init__(self, pages: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.control, theirs = context.Pipe()
        self.process = context.Process(target=fake_notion, args=(pages, theirs), daemon=True)
        self.process.start()
        if not self.control.poll(300):
            raise SystemExit("the fake Notion did not start")
        self.url: str = self.control.recv()

    def calls(self) -> Counter[str]:
        """The calls made since the last look, by endpoint."""
        self.control.send(("calls", 0))
        return Counter(self.control.recv())

    def edit(self, count: int) -> None:
        self.control.send(("edit", count))
        self.control.recv()

    def stop(self) -> None:
        self.control.send(("stop", 0))
        self.process.join(30)


# CPU seconds of process trees, from /proc (children that ended count through their parent's cutime).


def _tree_cpu(root: int) -> float:
    stats: dict[int, list[str]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                text = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            stats[int(entry.name)] = text[text.rindex(")") + 2 :].split()
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        if pid in stats:
            total += sum(int(value) for value in stats[pid][11:15]) / TICK
            pending += [child for child, fields in stats.items() if int(fields[1]) == pid]
    return total


@dataclass
class Meters:
    """CPU of everything a phase makes work, and the app's SQL statements."""

    postmaster: int
    fake: int
    statements: int = 0

    def read(self) -> dict[str, float]:
        own = _tree_cpu(os.getpid()) - _tree_cpu(self.fake)
        app = time.process_time()
        return {
            "app": app,
            "extraction": own - app,
            "postgres": _tree_cpu(self.postmaster),
            "fake": _tree_cpu(self.fake),
            "statements": self.statements,
        }


def _spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before[name] for name in before}


@dataclass
class Phase:
    name: str
    seconds: float
    history: dict[str, Any]
    calls: Counter[str]
    spent: dict[str, float]
    indexing: dict[str, Any] = field(default_factory=dict)


class Driver:
    def __init__(self, client: httpx.AsyncClient, app: FastAPI, fake: Fake, meters: Meters) -> None:
        self.client = client
        self.app = app
        self.fake = fake
        self.meters = meters
        self.headers: dict[str, str] = {}
        self.org_id: UUID | None = None
        self.integration_id = ""

    async def register(self, name: str) -> tuple[dict[str, str], UUID]:
        body = {"email": f"{name}-{time.time_ns()}@example.com", "password": PASSWORD, "name": name}
        registered = await self.client.post("/api/v1/auth/register", json=body)
        registered.raise_for_status()
        headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
        me = (await self.client.get("/api/v1/auth/me", headers=headers)).json()
        return headers, UUID(me["org"]["id"])

    async def warm_up(self) -> None:
        """One small document in an organization of its own, so the embedding model is loaded before the sync."""
        headers, _ = await self.register("warm-up")
        files = {"files": ("warm-up.txt", b"A short text that loads the embedding model.", "text/plain")}
        uploaded = await self.client.post("/api/v1/documents", files=files, headers=headers)
        uploaded.raise_for_status()
        await self.job(uploaded.json()["items"][0]["job_id"], headers)

    async def job(self, job_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        while True:
            answer = await self.client.get(f"/api/v1/jobs/{job_id}", headers=headers or self.headers)
            answer.raise_for_status()
            job: dict[str, Any] = answer.json()
            if job["status"] in TERMINAL:
                return job
            await asyncio.sleep(0.2)

    async def sync(self, name: str, start: Callable[[], Awaitable[str]], profile: Path | None = None) -> Phase:
        self.fake.calls()
        profiler = cProfile.Profile() if profile else None
        before = self.meters.read()
        if profiler:
            profiler.enable()
        job = await self.job(await start())
        if profiler:
            profiler.disable()
        spent = _spent(before, self.meters.read())
        if job["status"] != "succeeded":
            raise SystemExit(f"{name}: the sync job {job['status']}: {job['error_code']} {job['error_message']}")
        if profiler and profile:
            profiler.dump_stats(profile)
            print(f"{name}: cProfile of the event loop's thread in {profile}")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        history = await self.client.get(f"/api/v1/integrations/{self.integration_id}/syncs", headers=self.headers)
        history.raise_for_status()
        seconds = (_moment(job["finished_at"]) - _moment(job["started_at"])).total_seconds()
        return Phase(name, seconds, history.json()["items"][0], self.fake.calls(), spent)

    async def first_sync(self) -> Phase:
        async def create() -> str:
            body = {"kind": "notion", "name": "Notion", "config": {}, "credentials": {"token": TOKEN}}
            created = await self.client.post("/api/v1/integrations", json=body, headers=self.headers)
            created.raise_for_status()
            self.integration_id = created.json()["id"]
            return str(created.json()["sync_job_id"])

        return await self.sync("first sync: fetch and convert (the sync job)", create)

    async def resync(self, name: str, profile: Path | None = None) -> Phase:
        async def start() -> str:
            started = await self.client.post(f"/api/v1/integrations/{self.integration_id}/sync", headers=self.headers)
            started.raise_for_status()
            return str(started.json()["job_id"])

        return await self.sync(name, start, profile)

    async def indexed(self, since: datetime, until: datetime, wanted: int, seconds: float) -> dict[str, Any]:
        """Wait until `wanted` ingestions enqueued since `since` have ended, or `seconds` have passed; cancel the
        rest; and say what was indexed and when (ended during the sync that ended at `until`, or after it)."""
        ended = (JobStatus.SUCCEEDED, JobStatus.FAILED)
        ours = select(Job).where(Job.org_id == self.org_id, Job.kind == INGEST_DOCUMENT, Job.created_at >= since)
        deadline = time.monotonic() + seconds
        before = self.meters.read()
        while time.monotonic() < deadline:
            async with self.app.state.sessionmaker() as session:
                done = await session.scalar(
                    select(func.count()).select_from(ours.where(Job.status.in_(ended)).subquery())
                )
            if (done or 0) >= wanted:
                break
            await asyncio.sleep(1)
        spent = _spent(before, self.meters.read())
        async with self.app.state.sessionmaker() as session, session.begin():
            cancelled = await session.scalar(
                select(func.count()).select_from(ours.where(Job.status == JobStatus.QUEUED).subquery())
            )
            await session.execute(
                update(Job)
                .where(Job.org_id == self.org_id, Job.kind == INGEST_DOCUMENT, Job.status == JobStatus.QUEUED)
                .values(status=JobStatus.CANCELLED, finished_at=func.now())
            )
        await self._until_idle()
        async with self.app.state.sessionmaker() as session:
            finished = ours.where(Job.status.in_(ended)).subquery()
            first, last, count, after = (
                await session.execute(
                    select(
                        func.min(finished.c.started_at),
                        func.max(finished.c.finished_at),
                        func.count(),
                        func.count().filter(finished.c.started_at >= until),
                    )
                )
            ).one()
            alone = await session.execute(
                select(func.min(finished.c.started_at), func.max(finished.c.finished_at)).where(
                    finished.c.started_at >= until
                )
            )
            failed = await session.scalar(
                select(func.count()).where(Document.org_id == self.org_id, Document.status == DocumentStatus.FAILED)
            )
            chunks = await session.scalar(select(func.count()).select_from(Chunk).where(Chunk.org_id == self.org_id))
        alone_first, alone_last = alone.one()
        return {
            "indexed": count,
            "seconds": (last - first).total_seconds() if count else 0.0,
            "after_sync": after,
            "after_sync_seconds": (alone_last - alone_first).total_seconds() if after else 0.0,
            "failed": failed,
            "chunks": chunks,
            "cancelled": cancelled,
            "spent": spent,
        }

    async def _until_idle(self) -> None:
        """Until no job of the organization runs (an ingestion that started before the cancellation ends) and the
        job queue's waiting room is empty: each cancelled job still waiting there takes a slot to be dropped."""
        while True:
            async with self.app.state.sessionmaker() as session:
                running = await session.scalar(
                    select(func.count()).where(Job.org_id == self.org_id, Job.status == JobStatus.RUNNING)
                )
            if not running and not self.app.state.job_queue.slots.waiting:
                return
            await asyncio.sleep(0.5)


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def measure(
    arguments: argparse.Namespace, database_url: str, data_dir: Path, fake: Fake, meters: Meters
) -> list[Phase]:
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        data_dir=str(data_dir),
        auth={"access_token_minutes": 240},
        rate_limit={"enabled": False},
        log={"level": "WARNING"},
        outbound={"allow_private": True, "allow_hosts": ["127.0.0.1"]},
        integrations={"notion_api_url": fake.url},
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=600) as client,
    ):

        def counted(*_: Any) -> None:
            meters.statements += 1

        event.listen(app.state.engine.sync_engine, "before_cursor_execute", counted)
        driver = Driver(client, app, fake, meters)
        await driver.warm_up()
        driver.headers, driver.org_id = await driver.register("sync")
        since = datetime.now(UTC)
        first = await driver.first_sync()
        ended = _moment(first.history["finished_at"])
        first.indexing = await driver.indexed(since, ended, arguments.pages, arguments.index_seconds)
        print(first)
        unchanged = await driver.resync("no-change resync")
        print(unchanged)
        if arguments.profile:
            print(await driver.resync("no-change resync, profiled", arguments.profile))
        fake.edit(arguments.edits)
        since = datetime.now(UTC)
        edited = await driver.resync(f"resync after {arguments.edits} edits")
        ended = _moment(edited.history["finished_at"])
        edited.indexing = await driver.indexed(since, ended, edited.history["updated"], 600)
        print(edited)
    return [first, unchanged, edited]


def _cpu(spent: dict[str, float]) -> str:
    # Clock ticks read at two moments from different files can differ by one either way.
    return " / ".join(f"{max(0.0, spent[name]):.1f}" for name in ("app", "extraction", "postgres", "fake"))


def _requests(phase: Phase, pages: int) -> tuple[str, str]:
    calls = phase.calls
    logged = (
        f"{phase.history['requests']:,} ({calls['listing']:,} listing, {calls['page']:,} page, "
        f"{calls['blocks']:,} blocks)"
    )
    return logged, f"{phase.history['requests'] / pages * 100:.2f}"


def table(phases: list[Phase], arguments: argparse.Namespace, started: str, loads: list[str]) -> tuple[str, bool]:
    first, unchanged, edited = phases
    pages = arguments.pages
    index = first.indexing
    rows = []
    for phase in phases:
        logged, per_100 = _requests(phase, pages)
        history = phase.history
        rate = history["listed"] / phase.seconds
        rows.append(
            f"| {phase.name} | {history['listed']:,} | {phase.seconds:.2f} | {rate:,.0f} | "
            f"{logged} | {per_100} | {history['created']:,} / {history['updated']:,} | {_cpu(phase.spent)} | "
            f"{phase.spent['statements']:,.0f} |"
        )
    alone = index["after_sync"] / index["after_sync_seconds"] if index["after_sync_seconds"] else 0.0
    rows.insert(
        1,
        f"| first sync: index (first ingestion's start to the last one's end) | {index['indexed']:,} | "
        f"{index['seconds']:.1f} | {index['indexed'] / index['seconds']:.2f} | | | {index['chunks']:,} chunks, "
        f"{index['failed']} failed | {_cpu(index['spent'])} after the sync | |",
    )
    rows.insert(
        2,
        f"| of which after the sync, alone | {index['after_sync']:,} | {index['after_sync_seconds']:.1f} | "
        f"{alone:.2f} | | | | | |",
    )
    reindexed = edited.indexing
    met_time = unchanged.seconds < GOAL_SECONDS
    met_requests = unchanged.history["requests"] / pages * 100 <= GOAL_REQUESTS_PER_100
    verdict = "PASS" if met_time and met_requests else "FAIL"
    subset = (
        f"all {pages:,} pages indexed"
        if index["indexed"] >= pages
        else f"indexing stopped {arguments.index_seconds:g} s after the sync with {index['indexed']:,} of {pages:,} "
        f"pages indexed ({index['cancelled']:,} ingestions cancelled)"
    )
    text = (
        f"{SECTION}\n\n`python bench/sync.py` — {started} UTC, commit {_commit()}; {machine()}; load average "
        f"{loads[0]} at the start, {loads[1]} at the end (the machine is shared). The app in the benchmark's "
        "process (`create_app`, embedded PostgreSQL, jobs in-process at the default concurrency of 2, the local "
        f"embedding model loaded first); the tests' fake Notion in a process of its own over HTTP with {pages:,} "
        f"pages of one paragraph. How each figure is measured: the script's docstring. First sync: {subset}.\n\n"
        "| phase | pages | time s | pages/s | requests to Notion (fake's log) | per 100 pages | created / updated "
        "| CPU s: app / extraction / PostgreSQL / fake | SQL statements |\n"
        "|---|---:|---:|---:|---|---:|---|---|---:|\n" + "\n".join(rows) + "\n\n"
        f"After the edits, the {reindexed['indexed']} edited pages were indexed again "
        f"{reindexed['seconds']:.1f} s after their first ingestion started.\n\n"
        f"Goal: a no-change resync of {pages:,} pages in < {GOAL_SECONDS:g} s with <= {GOAL_REQUESTS_PER_100:g} "
        f"request per 100 pages: **{verdict}** ({unchanged.seconds:.2f} s: {'met' if met_time else 'missed'}; "
        f"{unchanged.history['requests'] / pages * 100:.2f} requests per 100 pages: "
        f"{'met' if met_requests else 'missed'}).\n"
    )
    return text, verdict == "PASS"


def _commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)  # noqa: S607
    return found.stdout.strip() or "unknown"


def _load() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument(
        "--index-seconds", type=float, default=120, help="how long indexing is waited for after the first sync"
    )
    parser.add_argument(
        "--profile", type=Path, help="then one more no-change resync under cProfile, its stats written to this file"
    )
    parser.add_argument("--no-record", action="store_true", help="leave bench/RESULTS.md alone")
    arguments = parser.parse_args()

    # Python 3.11's fork server never preloads `__main__` (CPython gh-126631, fixed in 3.13.8), so each extraction
    # child runs this script again as `__mp_main__`; with what it imports already imported by the fork server, that
    # costs milliseconds instead of seconds (the fork server finds `tests` when started from the repository's root).
    preload = ["folio.ingestion.extract", "folio.main", "tests.integrations.fakes.notion", "tests.processes"]
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
    started, loads = f"{datetime.now(UTC):%Y-%m-%d %H:%M}", [_load()]
    fake = Fake(arguments.pages)
    root = Path(tempfile.mkdtemp(prefix="folio-bench-sync-"))
    try:
        database = EmbeddedPostgres(root / "pg")
        try:
            postmaster = int((root / "pg" / "postmaster.pid").read_text().split()[0])
            meters = Meters(postmaster, fake.process.pid or 0)
            phases = asyncio.run(measure(arguments, database.url, root / "data", fake, meters))
        finally:
            database.release()
    finally:
        fake.stop()
        shutil.rmtree(root, ignore_errors=True)
    loads.append(_load())
    output, passed = table(phases, arguments, started, loads)
    print(output)
    print("PASS" if passed else "FAIL")
    if not arguments.no_record:
        record(SECTION, output)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
