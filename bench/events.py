"""Live events on one API process: latency from commit to receipt, and memory per connection.

One `folio serve` on the scale-out path (its own embedded PostgreSQL and a private `redis-server`), N organizations.
1,000 WebSocket clients (then 200 SSE clients), spread evenly over the organizations and subscribed to their
organization, in client processes of their own. This process commits `case.updated` events at a steady rate,
round-robin over the organizations, and publishes them on the Redis bus after each commit, as a worker does.
Latency is from the commit's return to a client's receipt (same machine, wall clock); memory is the server's RSS
growth with every client connected and idle, divided by the clients. Goals: p99 < 100 ms, < 100 KiB per idle
connection.

    python bench/events.py                 # --clients 1000 --sse 200 --orgs 100 --rate 100 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import orjson
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).parent))
from folio.db import create_engine, create_sessionmaker
from folio.embedded_postgres import EmbeddedPostgres
from folio.events.bus import RedisBus
from folio.events.outbox import BUS, emit
from folio.events.schemas import CaseData, EventType
from folio.settings import Settings
from results import folio_server, free_port, machine, memory, record

SECTION = "## Live events"
PASSWORD = "a sturdy passphrase 42"
CLIENT_PROCESSES = 2


# Client processes: each holds its share of the connections and reports (sequence, receipt time) pairs.


def clients_process(kind: str, url: str, tokens: list[str], control: Connection) -> None:
    asyncio.run(_clients(kind, url, tokens, control))


async def _clients(kind: str, url: str, tokens: list[str], control: Connection) -> None:
    received: list[tuple[int, float]] = []
    opened: list[int] = []
    stop = asyncio.Event()

    async def websocket(token: str) -> None:
        ws_url = url.replace("http://", "ws://") + "/api/v1/ws"
        async with connect(ws_url, subprotocols=["folio.v1", f"bearer.{token}"], max_queue=None) as socket:  # type: ignore[list-item]
            await socket.recv()  # authenticated
            await socket.send(orjson.dumps({"type": "subscribe", "topics": ["org"]}).decode())
            await socket.recv()  # subscribed
            opened.append(1)
            while not stop.is_set():
                message = orjson.loads(await socket.recv())
                if message.get("type") == "case.updated":
                    received.append((int(message["data"]["fields"][0]), time.time()))

    async def sse(token: str, client: httpx.AsyncClient) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with client.stream("GET", "/api/v1/events", headers=headers) as response:
            opened.append(1)
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    message = orjson.loads(line[5:])
                    if message.get("type") == "case.updated":
                        received.append((int(message["data"]["fields"][0]), time.time()))

    limits = httpx.Limits(max_connections=len(tokens) + 10)
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(30, read=None), limits=limits) as http:
        tasks = [asyncio.create_task(websocket(token) if kind == "ws" else sse(token, http)) for token in tokens]
        while len(opened) < len(tokens):
            await asyncio.sleep(0.1)
            failed = [task for task in tasks if task.done()]
            if failed:
                failed[0].result()
        control.send("connected")
        await asyncio.to_thread(control.recv)  # "stop"
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    control.send(received)


# The driver: commits events at a steady rate, as a worker would, and notes each commit's time.


async def drive(
    database_url: str, redis_url: str, orgs: Sequence[UUID], rate: float, seconds: float
) -> dict[int, float]:
    from redis.asyncio import Redis

    settings = Settings(_env_file=None, database_url=database_url)
    engine = create_engine(database_url, settings)
    redis = Redis.from_url(redis_url)
    sessionmaker = create_sessionmaker(engine, {BUS: RedisBus(redis)})
    committed: dict[int, float] = {}
    started = time.perf_counter()
    total = int(rate * seconds)
    try:
        for sequence in range(total):
            await asyncio.sleep(max(0.0, started + sequence / rate - time.perf_counter()))
            async with sessionmaker() as session:
                async with session.begin():
                    emit(
                        session,
                        org_id=orgs[sequence % len(orgs)],
                        type=EventType.CASE_UPDATED,
                        subject_id=None,
                        data=CaseData(number=str(sequence), changes=[], status="open", priority="normal"),
                    )
                committed[sequence] = time.time()
            # Leaving the block published the event (an after-commit effect).
    finally:
        await redis.aclose()
        await engine.dispose()
    return committed


async def register_orgs(url: str, count: int) -> list[tuple[UUID, str]]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:

        async def one(number: int) -> tuple[UUID, str]:
            email = f"events-{number}-{time.time_ns()}@example.com"
            body = {"email": email, "password": PASSWORD, "name": f"Org {number}"}
            registered = (await client.post("/api/v1/auth/register", json=body)).json()
            token = registered["access_token"]
            me = (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).json()
            return UUID(me["org"]["id"]), token

        accounts = []
        for first in range(0, count, 10):
            accounts += await asyncio.gather(*(one(number) for number in range(first, min(first + 10, count))))
        return accounts


def phase(
    kind: str,
    url: str,
    server_pid: int,
    accounts: list[tuple[UUID, str]],
    clients: int,
    database_url: str,
    redis_url: str,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """Connect `clients` of `kind`, measure idle memory, drive events, and gather latencies."""
    tokens = [accounts[number % len(accounts)][1] for number in range(clients)]
    org_of_token = {token: org for org, token in accounts}
    per_org = {org: sum(1 for token in tokens if org_of_token[token] == org) for org, _ in accounts}
    context = multiprocessing.get_context("spawn")
    before = memory(server_pid, "VmRSS")
    controls, processes = [], []
    for share in range(CLIENT_PROCESSES):
        ours, theirs = context.Pipe()
        process = context.Process(target=clients_process, args=(kind, url, tokens[share::CLIENT_PROCESSES], theirs))
        process.start()
        controls.append(ours)
        processes.append(process)
    for control in controls:
        if not control.poll(300):
            raise SystemExit(f"{kind} clients did not connect")
        control.recv()
    time.sleep(3)
    idle = memory(server_pid, "VmRSS")
    orgs = [org for org, _ in accounts]
    committed = asyncio.run(drive(database_url, redis_url, orgs, rate, seconds))
    time.sleep(3)
    received: list[tuple[int, float]] = []
    for control in controls:
        control.send("stop")
    for control in controls:
        received += control.recv()
    for process in processes:
        process.join(60)
    latencies = sorted((at - committed[sequence]) * 1000 for sequence, at in received if sequence in committed)
    expected = sum(per_org[orgs[sequence % len(orgs)]] for sequence in committed)
    return {
        "kind": kind,
        "clients": clients,
        "events": len(committed),
        "expected": expected,
        "received": len(latencies),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
        "max": latencies[-1] if latencies else float("nan"),
        "kib_per_connection": (idle - before) / 1024 / clients,
    }


def table(results: list[dict[str, Any]], orgs: int, rate: float, seconds: float) -> str:
    rows = "\n".join(
        f"| {r['kind'].upper()} | {r['clients']} | {r['events']} | {r['received']} / {r['expected']} | "
        f"{r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['kib_per_connection']:.1f} |"
        for r in results
    )
    return (
        f"{SECTION}\n\n{datetime.now(UTC):%Y-%m-%d}, {machine()}. `python bench/events.py`: one `folio serve` on the "
        f"scale-out path (embedded PostgreSQL, Redis bus), {orgs} organizations, clients spread evenly and subscribed "
        f"to their organization; {rate:g} `case.updated` events/s committed for {seconds:g} s, round-robin over the "
        "organizations, by a separate process publishing after each commit as a worker does. Latency: commit to "
        "receipt. Memory: the server's RSS growth with every client connected and idle, per connection. Goals: "
        "p99 < 100 ms, < 100 KiB per idle connection. The SSE phase runs after the WebSocket clients have gone, in "
        "memory the process already holds, so its figure per connection is a lower bound.\n\n"
        "| stream | clients | events | received / expected | p50 ms | p99 ms | max ms | KiB per idle connection |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"{rows}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000, help="WebSocket clients")
    parser.add_argument("--sse", type=int, default=200, help="SSE clients")
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--rate", type=float, default=100, help="events committed per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--no-record", action="store_true", help="leave bench/RESULTS.md alone")
    arguments = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="folio-bench-events-"))
    database = EmbeddedPostgres(root / "pg")
    redis_port = free_port()
    redis = subprocess.Popen(
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],  # noqa: S607
        stdout=subprocess.DEVNULL,
    )
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    settings = {
        "FOLIO_DATABASE_URL": database.url,
        "FOLIO_REDIS_URL": redis_url,
        "FOLIO_AUTH__ACCESS_TOKEN_MINUTES": "120",
        "FOLIO_EVENTS__MAX_CONNECTIONS_PER_ORG": "1000",
        "FOLIO_HTTP__MAX_IN_FLIGHT": "100000",
        "FOLIO_LOG__LEVEL": "WARNING",
    }
    try:
        with folio_server(root / "data", settings) as (pid, url):
            accounts = asyncio.run(register_orgs(url, arguments.orgs))
            pace = (arguments.rate, arguments.seconds)
            results = []
            for kind, clients in (("ws", arguments.clients), ("sse", arguments.sse)):
                if clients:
                    measured = phase(kind, url, pid, accounts, clients, database.url, redis_url, *pace)
                    results.append(measured)
                    print(results[-1])
    finally:
        redis.terminate()
        redis.wait()
        database.release()
        shutil.rmtree(root, ignore_errors=True)
    output = table(results, arguments.orgs, arguments.rate, arguments.seconds)
    print(output)
    if not arguments.no_record:
        record(SECTION, output)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
