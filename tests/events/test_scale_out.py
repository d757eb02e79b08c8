"""Live events and jobs scaled out, as real processes: two `folio serve` (A and B) and two `folio worker`, all on
one PostgreSQL and one Redis.

The Redis is a `redis-server` of this module's own (a child process on a free port, no persistence), not the one
the other tests share: the later tests restart it, and its job stream (`folio:jobs`) must meet no other test's
worker. The PostgreSQL is an embedded server of the module's own too. The test process itself plays a third
kind of process that commits events: one that publishes them on the Redis bus (`loud`), and one that dies
between its commit and its publish (`silent`, a sessionmaker without the bus). The last test adds a second
worker and kills it in the middle of its jobs.

Every wait is a deadline (`WAIT_SECONDS`): a broken relay or bus fails a test, it never hangs it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.db import create_engine, create_sessionmaker
from folio.events.bus import CHANNEL, RedisBus
from folio.events.hub import PAGE
from folio.events.outbox import BUS, emit
from folio.events.schemas import EventType, JobData
from folio.models import Chunk, Document, Event, Job, JobStatus
from tests.conftest import make_settings
from tests.documents.test_router import upload
from tests.events.emitting import commit_records
from tests.events.wsclient import WAIT_SECONDS, LiveSocket, live_socket
from tests.factories import register, wait_until_finished
from tests.processes import (
    Process,
    RedisServer,
    backing,
    folio_process,
    free_port,
    log_text,
    until_answering,
    until_logged,
)
from tests.records.conftest import csv_bytes
from tests.records.conftest import upload as upload_batch

REDIS_SERVER = shutil.which("redis-server")

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None, reason="redis-server is not installed: this module starts and restarts a Redis of its own"
)


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """The module's processes use a database of their own, left to them until the module ends."""


@dataclass
class Api:
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/api/v1/ws"

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=WAIT_SECONDS)


@dataclass
class Topology:
    a: Api
    b: Api
    redis: RedisServer
    # Commits and publishes on the Redis bus, as any process does.
    loud: async_sessionmaker[AsyncSession]
    # Commits without publishing: a process killed between its commit and its publish.
    silent: async_sessionmaker[AsyncSession]
    worker: Process
    # What a process of the topology is started with: for the worker the last test adds.
    root: Path
    settings: dict[str, str]


@pytest.fixture(scope="module")
async def topology() -> AsyncIterator[Topology]:
    """Redis, PostgreSQL (migrated), then API A, API B and a worker started together; ready once all three are and
    both APIs listen to the bus. Whatever started is stopped in reverse order, also after a failed start."""
    async with AsyncExitStack() as stack:
        services = await stack.enter_async_context(backing("folio-scale-"))
        root, redis = services.root, services.redis
        engine = create_engine(services.database_url, make_settings(services.database_url))
        stack.push_async_callback(engine.dispose)

        settings = services.settings(
            FOLIO_EVENTS__RELAY_SECONDS="0.5",
            # A job whose dispatch failed (Redis was down) is sent again once its dispatch is older than a lease.
            FOLIO_JOBS__LEASE_SECONDS="5",
            FOLIO_JOBS__REAPER_SECONDS="0.5",
            FOLIO_RATE_LIMIT__AUTH="1000/minute",
            FOLIO_LOG__LEVEL="WARNING",
        )
        port_a, port_b = free_port(), free_port()
        api_a, api_b = Api(f"http://127.0.0.1:{port_a}"), Api(f"http://127.0.0.1:{port_b}")
        logs = {name: root / f"{name}.log" for name in ("a", "b", "worker")}

        async def start(name: str, *args: str) -> Process:
            # One data directory: the worker reads the files the APIs stored.
            process = folio_process(*args, data_dir=root / "data", settings=settings, log=logs[name])
            return await stack.enter_async_context(process)

        a = await start("a", "serve", "--port", str(port_a))
        b = await start("b", "serve", "--port", str(port_b))
        worker = await start("worker", "worker")
        await asyncio.gather(
            until_answering(f"{api_a.url}/health/ready", a, logs["a"]),
            until_answering(f"{api_b.url}/health/ready", b, logs["b"]),
            until_logged("Worker running", worker, logs["worker"]),
        )
        bus_client = Redis.from_url(redis.url)
        stack.push_async_callback(bus_client.aclose)
        await until_listening(bus_client, 2)
        yield Topology(
            a=api_a,
            b=api_b,
            redis=redis,
            loud=create_sessionmaker(engine, {BUS: RedisBus(bus_client)}),
            silent=create_sessionmaker(engine),
            worker=worker,
            root=root,
            settings=settings,
        )


async def until_listening(redis: Redis, processes: int) -> None:
    """Until `processes` API processes listen to the event bus's channel."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            [(_, listeners)] = await redis.pubsub_numsub(CHANNEL)
            if listeners >= processes:
                return
            await asyncio.sleep(0.05)


@asynccontextmanager
async def clients(topology: Topology) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with topology.a.client() as via_a, topology.b.client() as via_b:
        yield via_a, via_b


async def stored_ids(topology: Topology, org_id: UUID, *, after: int, upto: int | None = None) -> list[int]:
    """The ids of the organization's stored events after id `after` (up to `upto`), in order."""
    statement = select(Event.id).where(Event.org_id == org_id, Event.id > after).order_by(Event.id)
    if upto is not None:
        statement = statement.where(Event.id <= upto)
    async with topology.silent() as session:
        return list((await session.scalars(statement)).all())


async def last_stored_id(topology: Topology) -> int:
    async with topology.silent() as session:
        return await session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0


def subjects(events: list[dict[str, Any]], subject_id: str) -> list[str]:
    """The types of the events about `subject_id`, in the order received."""
    return [event["type"] for event in events if event["subject"]["id"] == subject_id]


def markdown(title: str) -> bytes:
    return (
        f"# {title}\n\nThe {title} ledger keeps every flood of the valley.\n\n## Bridges\n\nStone came later.".encode()
    )


# 1. Across processes, in order, per organization


async def test_a_client_of_one_api_follows_an_upload_made_through_the_other_and_run_by_the_worker(
    topology: Topology,
) -> None:
    async with clients(topology) as (via_a, via_b):
        alice, bob = await register(via_b), await register(via_a)
        async with (
            live_socket(topology.a.ws_url, bearer=alice.access_token) as alices,
            live_socket(topology.b.ws_url, bearer=bob.access_token) as bobs,
        ):
            await alices.subscribe("org")
            await bobs.subscribe("org")
            before = await last_stored_id(topology)
            # Alice uploads through B and follows on A; Bob, at the same time, uploads through A.
            alices_item, bobs_item = await asyncio.gather(
                upload(via_b, alice, name="alice.md", content=markdown("Alice")),
                upload(via_a, bob, name="bob.md", content=markdown("Bob")),
            )
            await bobs.events_until("job.succeeded", bobs_item["job_id"])
            events = await alices.events_until("job.succeeded", alices_item["job_id"])
            # Every event of Bob's was committed before this one, and a hub hands events over in id order: once
            # it arrives, each of Bob's events has been offered to Alice's connection (and refused).
            [marker] = await commit_records(topology.loud, alice.org_id)
            events += await alices.events_until("case.updated", str(marker))

    document_id, job_id = alices_item["document"]["id"], alices_item["job_id"]
    job = subjects(events, job_id)
    assert job[:2] == ["job.queued", "job.started"], job
    assert job[-1] == "job.succeeded", job
    # Live only, never stored: only the Redis bus can have carried them from the worker to A.
    assert job[2:-1], "no job.progress reached A from the worker"
    assert set(job[2:-1]) == {"job.progress"}, job
    document = subjects(events, document_id)
    assert document[0] == "document.created", document
    assert document[-1] == "document.ready", document
    story = [(event["type"], event["subject"]["id"]) for event in events]
    assert (
        story.index(("document.created", document_id))
        < story.index(("job.queued", job_id))
        < story.index(("job.started", job_id))
        < story.index(("document.ready", document_id))
        < story.index(("job.succeeded", job_id))
    )
    durable = [event["id"] for event in events if event["type"] != "job.progress"]
    assert all(earlier < later for earlier, later in zip(durable, durable[1:], strict=False)), durable
    # Every event Alice's organization stored meanwhile, and nothing else.
    assert durable == await stored_ids(topology, alice.org_id, after=before)
    assert {event["org_id"] for event in events} == {str(alice.org_id)}
    assert bobs_item["job_id"] not in str(events)
    assert bobs_item["document"]["id"] not in str(events)


async def test_the_worker_runs_below_the_api_processes_in_the_cpu_scheduler(topology: Topology) -> None:
    # FOLIO_JOBS__WORKER_NICENESS's default: on a host both share, extraction and embedding yield the CPU to requests.
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, topology.worker.pid) == min(ours + 10, 19)


# 2. Resuming on the other process


async def test_a_reconnect_to_the_other_api_with_since_gets_the_missed_events_once_then_live_ones(
    topology: Topology,
) -> None:
    async with clients(topology) as (_, via_b):
        carol = await register(via_b)
        async with live_socket(topology.a.ws_url, bearer=carol.access_token) as socket:
            await socket.subscribe("org")
            await commit_records(topology.loud, carol.org_id, 2)
            seen = await socket.events(2)
        since = seen[-1]["id"]

        # Missed while away: an upload through B that the worker ingests, and more records than a replay reads at
        # once, so the replay lasts while new events are committed.
        item = await upload(via_b, carol, name="missed.md", content=markdown("Missed"))
        assert (await wait_until_finished(via_b, carol, item["job_id"], seconds=WAIT_SECONDS))["status"] == "succeeded"
        await commit_records(topology.loud, carol.org_id, PAGE + 100)
        missed = await stored_ids(topology, carol.org_id, after=since)

        # Reconnected to B: the replay, then live events; some are committed while it replays.
        async with live_socket(topology.b.ws_url, bearer=carol.access_token, params={"since": since}) as socket:
            async with committing(topology, carol.org_id):
                await socket.subscribe("org")
                received = await socket.events(len(missed) + 3)
            [marker] = await commit_records(topology.loud, carol.org_id)
            received += await socket.events_until("case.updated", str(marker))
            await socket.send({"type": "ping"})
            await socket.expect("pong")
            unexpected = [message for message in socket.seen if "." in message["type"] and message not in received]

    ids = [event["id"] for event in received]
    everything = await stored_ids(topology, carol.org_id, after=since)
    assert ids[: len(missed)] == missed
    assert ids == everything, "every stored event after `since`, each once, in order"
    assert not unexpected
    assert subjects(received, item["job_id"]) == ["job.queued", "job.started", "job.succeeded"]


@asynccontextmanager
async def committing(topology: Topology, org_id: UUID) -> AsyncIterator[None]:
    """Commit a case.updated event of the organization every few milliseconds for the block's duration."""
    stopping = asyncio.Event()

    async def keep_committing() -> None:
        while not stopping.is_set():
            await commit_records(topology.loud, org_id)
            await asyncio.sleep(0.01)

    task = asyncio.create_task(keep_committing())
    try:
        yield
    finally:
        stopping.set()
        await task


# 3. A process that dies between its commit and its publish


async def test_an_event_committed_but_never_published_reaches_the_clients_of_both_apis(topology: Topology) -> None:
    async with clients(topology) as (via_a, _):
        dave = await register(via_a)
    async with (
        live_socket(topology.a.ws_url, bearer=dave.access_token) as on_a,
        live_socket(topology.b.ws_url, bearer=dave.access_token) as on_b,
    ):
        await on_a.subscribe("org")
        await on_b.subscribe("org")
        before = await last_stored_id(topology)
        # Nothing else happens meanwhile, so only the relays (reading the outbox) can deliver it.
        [orphan] = await commit_records(topology.silent, dave.org_id)
        [from_a] = await on_a.events(1)
        [from_b] = await on_b.events(1)
        [marker] = await commit_records(topology.loud, dave.org_id)
        after_a = await on_a.events_until("case.updated", str(marker))
        after_b = await on_b.events_until("case.updated", str(marker))

    [orphan_id, marker_id] = await stored_ids(topology, dave.org_id, after=before)
    for event in (from_a, from_b):
        assert (event["id"], event["type"], event["subject"]["id"]) == (orphan_id, "case.updated", str(orphan))
    # Delivered once: the relay's copy is not followed by a second one.
    assert [event["id"] for event in after_a] == [event["id"] for event in after_b] == [marker_id]


# 4. Redis restarts mid-stream


async def test_a_redis_restart_loses_no_durable_event_and_live_events_flow_again(topology: Topology) -> None:
    async with clients(topology) as (_, via_b):
        erin = await register(via_b)
        async with (
            live_socket(topology.a.ws_url, bearer=erin.access_token) as on_a,
            live_socket(topology.b.ws_url, bearer=erin.access_token) as on_b,
        ):
            sockets = on_a, on_b
            for socket in sockets:
                await socket.subscribe("org")
            since = await last_stored_id(topology)

            await topology.redis.stop()
            # Committed while Redis is down: an upload through B (its job cannot be dispatched) and records of a
            # process whose publish fails. The relays read them from the outbox; the connections stay open.
            item = await upload(via_b, erin, name="outage.md", content=markdown("Outage"))
            during = await commit_records(topology.loud, erin.org_id, 2)
            in_outage = [await socket.events_until("case.updated", str(during[-1])) for socket in sockets]
            outage_ids = await stored_ids(topology, erin.org_id, after=since)

            await topology.redis.start()
            async with Redis.from_url(topology.redis.url) as redis:
                await until_listening(redis, 2)
            # Live only, never stored: it reaches a client only if its API listens to the bus again. Live-only
            # events have no place in the id order, so the durable marker may come first (through a relay).
            live_only = await publish_live_only(topology, erin.org_id)
            [marker] = await commit_records(topology.loud, erin.org_id)
            wanted = {("job.progress", str(live_only)), ("case.updated", str(marker))}
            after = [await events_until_all(socket, wanted) for socket in sockets]

    document_id, job_id = item["document"]["id"], item["job_id"]
    for before_restart, after_restart in zip(in_outage, after, strict=True):
        assert [event["id"] for event in before_restart] == outage_ids
        assert subjects(before_restart, document_id) == ["document.created"]
        assert subjects(before_restart, job_id) == ["job.queued"]
        durable = [event["id"] for event in before_restart + after_restart if event["type"] != "job.progress"]
        # Up to the last one received: the outage's job may be running meanwhile.
        assert durable == await stored_ids(topology, erin.org_id, after=since, upto=durable[-1])


async def events_until_all(socket: LiveSocket, wanted: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Events until each (type, subject id) of `wanted` has come, in whatever order."""
    events, missing = [], set(wanted)
    while missing:
        [event] = await socket.events(1)
        events.append(event)
        missing.discard((event["type"], event["subject"]["id"]))
    return events


async def test_a_job_dispatched_while_redis_was_down_runs_once_it_is_back(topology: Topology) -> None:
    async with clients(topology) as (_, via_b):
        frank = await register(via_b)
        async with live_socket(topology.a.ws_url, bearer=frank.access_token) as socket:
            await socket.subscribe("org")
            await topology.redis.stop()
            item = await upload(via_b, frank, name="later.md", content=markdown("Later"))
            await socket.events_until("job.queued", item["job_id"])
            await topology.redis.start()
            # The workers' reaper dispatches it again; a worker runs it.
            events = await socket.events_until("job.succeeded", item["job_id"])
    assert subjects(events, item["document"]["id"]) == ["document.ready"]


# 5. A worker killed mid-work, and Redis restarted meanwhile


async def test_the_jobs_of_a_worker_killed_mid_work_end_once_after_a_redis_restart(topology: Topology) -> None:
    log = topology.root / "doomed.log"
    # It logs each job it starts.
    settings = topology.settings | {"FOLIO_LOG__LEVEL": "INFO"}
    async with (
        clients(topology) as (via_a, via_b),
        folio_process("worker", data_dir=topology.root / "data", settings=settings, log=log) as doomed,
    ):
        grace = await register(via_a)
        await until_logged("Worker running", doomed, log)
        # The first worker holds still, so the burst goes to the one that is killed.
        topology.worker.send_signal(signal.SIGSTOP)
        try:
            uploads = [
                upload(via, grace, name=f"burst-{number}.md", content=markdown(f"Burst {number}"))
                for number, via in enumerate((via_a, via_b, via_a))
            ]
            items = await asyncio.gather(*uploads)
            rows = csv_bytes("id,text", "b1,The parcel arrived two weeks late", "b2,The refund never came")
            accepted = await upload_batch(
                via_b, grace.headers, rows, {"text": "text", "external_id": "id"}, enrich="false"
            )
            assert accepted.status_code == 202, accepted.text
            jobs = [item["job_id"] for item in items] + [accepted.json()["job_id"]]
            await until_started(log, jobs)
            doomed.kill()
            await doomed.wait()
            # Empty again: the stream and its pending entries are gone, only the jobs table remembers.
            await topology.redis.stop()
            await topology.redis.start()
        finally:
            topology.worker.send_signal(signal.SIGCONT)
        # The first worker's reaper takes the jobs back once their lease expired and sends again what Redis lost.
        await until_settled(topology, grace.org_id)

    async with topology.silent() as session:
        job_statuses = (await session.scalars(select(Job.status).where(Job.org_id == grace.org_id))).all()
        chunks = (
            await session.execute(
                select(Document.status, Document.chunk_count, func.count(Chunk.id), func.count(distinct(Chunk.ordinal)))
                .outerjoin(Chunk, (Chunk.document_id == Document.id) & (Chunk.version == Document.version))
                .where(Document.org_id == grace.org_id)
                .group_by(Document.id)
            )
        ).all()
    assert len(job_statuses) >= len(jobs)
    assert set(job_statuses) <= FINAL_JOBS, job_statuses
    # The three uploads and the batch's two cases.
    assert len(chunks) == 5
    for status, chunk_count, count, ordinals in chunks:
        assert status in {"ready", "failed"}
        if status == "ready":
            assert count == ordinals == chunk_count, (count, ordinals, chunk_count)


FINAL_JOBS = {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}


async def until_started(log: Path, job_ids: list[str]) -> None:
    """Until the worker logging to `log` has started one of the jobs."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            started = [line for line in log_text(log).splitlines() if "job_started" in line]
            if any(job_id in line for line in started for job_id in job_ids):
                return
            await asyncio.sleep(0.05)


async def until_settled(topology: Topology, org_id: UUID) -> None:
    """Until no job of the organization is queued or running and none of its documents is waiting for one."""
    unsettled = (
        select(func.count())
        .select_from(Job)
        .where(Job.org_id == org_id, Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    )
    waiting = (
        select(func.count())
        .select_from(Document)
        .where(Document.org_id == org_id, Document.status.in_(["pending", "processing"]))
    )
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            async with topology.silent() as session:
                if not await session.scalar(unsettled) and not await session.scalar(waiting):
                    return
            await asyncio.sleep(0.1)


async def publish_live_only(topology: Topology, org_id: UUID) -> UUID:
    """A job.progress event (live only) on the bus; its subject's id."""
    subject = uuid4()
    async with topology.loud() as session, session.begin():
        emit(
            session,
            org_id=org_id,
            type=EventType.JOB_PROGRESS,
            subject_id=subject,
            data=JobData(kind="marker", status=JobStatus.RUNNING, progress=50),
        )
    return subject
