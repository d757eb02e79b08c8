"""Scale-out, proven: two API processes and two workers under load while processes die and Redis and PostgreSQL
go away, then checks that nothing was lost, duplicated or left unfinished.

The topology (bench/scaleout_topology.py): 2 × `folio serve`, 2 × `folio worker`, a Redis of the run's own, one
PostgreSQL (the embedded server on its Unix socket, shared through FOLIO_DATABASE_URL), and files in S3 (moto in
server mode) once Folio has an S3 backend, else in one shared data directory. The load (bench/scaleout_load.py):
N clients in separate processes, spread over both APIs, each registering and then mixing searches, reads,
uploads, answers, record batches and logins; half of them follow their organization's events over SSE. Faults at
set fractions of the load: SIGKILL a worker (20 %) and an API process (35 %), each started again 3 s later as an
orchestrator would; restart Redis, which comes back empty (50 %); stop PostgreSQL for 5 s (70 %).

Then, with a deadline: every accepted upload and batch ends (`ready` or a final error), no job is left queued or
running, no document has a chunk ordinal twice or a chunk count that disagrees, every stream received every stored
event of its organization once and in order; and no 5xx but documented 503s (SERVER_BUSY) and 503s while the
database was down. Any violation exits 1. Goal: p95 < 500 ms for search and reads.

    python bench/scaleout.py                       # --clients 200 --seconds 60
    python bench/scaleout.py --clients 20 --seconds 15 --no-record
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from folio.db import create_engine
from folio.settings import Settings
from results import machine, record
from scaleout_checks import (
    Settled,
    Window,
    final_state,
    latency_rows,
    org_events,
    server_errors,
    settle,
    status_counts,
    stream_violations,
)
from scaleout_load import Outcome, Plan, StreamReport, clients_process
from scaleout_topology import Member, Topology, stored_objects, topology

SECTION = "## Scale-out"
RESTART_AFTER_SECONDS = 3
POSTGRES_DOWN_SECONDS = 5
GOAL_MS = 500
GOAL_LABELS = ("POST /search", "GET /documents", "GET /documents/{id}", "GET /jobs/{id}")


@dataclass
class Timeline:
    start: float
    windows: list[Window] = field(default_factory=list)

    def outage(self) -> Window | None:
        return next((window for window in self.windows if window.name == "PostgreSQL stopped"), None)

    def describe(self) -> str:
        return "; ".join(
            f"{window.name} {window.start - self.start:.1f}–{window.end - self.start:.1f} s"
            for window in sorted(self.windows, key=lambda window: window.start)
        )


async def faults(run: Topology, timeline: Timeline, seconds: float) -> None:
    """Each fault at its time, independently: a process killed while PostgreSQL is down may need a few starts to
    come back, as under an orchestrator that restarts what exits."""

    async def at(fraction: float, name: str, fault: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(max(0.0, timeline.start + fraction * seconds - time.time()))
        began = time.time()
        await fault()
        timeline.windows.append(Window(name, began, time.time()))
        print(f"  {began - timeline.start:5.1f} s  {name}: {time.time() - began:.1f} s")

    async def kill_and_restart(member: Member) -> None:
        await run.kill(member)
        await asyncio.sleep(RESTART_AFTER_SECONDS)
        await run.restart(member)

    async def postgres_outage() -> None:
        await run.stop_postgres()
        await asyncio.sleep(POSTGRES_DOWN_SECONDS)
        await run.start_postgres()

    await asyncio.gather(
        at(0.20, "worker1 killed until back", lambda: kill_and_restart(run.workers[0])),
        at(0.35, "api1 killed until back", lambda: kill_and_restart(run.apis[0])),
        at(0.50, "Redis restarted", run.restart_redis),
        at(0.70, "PostgreSQL stopped", postgres_outage),
    )


@dataclass
class Result:
    outcome: Outcome
    streams: list[StreamReport]
    timeline: Timeline
    load_end: float
    settled: Settled
    state: dict[str, Any]
    stored: dict[str, list[int]]
    storage: str
    objects: int | None


async def measure(arguments: argparse.Namespace, root: Path) -> Result:
    context = multiprocessing.get_context("spawn")
    async with topology(root) as run:
        print(f"topology ready in {root} (files: {run.storage})")
        pipes, processes = [], []
        for _ in range(arguments.processes):
            ours, theirs = context.Pipe()
            process = context.Process(target=clients_process, args=(theirs,), daemon=True)
            process.start()
            pipes.append(ours)
            processes.append(process)
        share = -(-arguments.clients // arguments.processes)
        for number, pipe in enumerate(pipes):
            first = number * share
            count = max(0, min(share, arguments.clients - first))
            pacing = (arguments.seconds, arguments.think, arguments.stream_every, arguments.seed)
            pipe.send(("go", Plan(tuple(run.api_urls), first, count, *pacing)))
        registered = await asyncio.gather(*(asyncio.to_thread(pipe.recv) for pipe in pipes))
        print(f"{sum(accounts for _, accounts in registered)} clients registered; the load starts")
        timeline = Timeline(start=time.time() + 1)
        for pipe in pipes:
            pipe.send(("start", timeline.start))
        fault_task = asyncio.create_task(faults(run, timeline, arguments.seconds)) if arguments.faults else None
        outcome = Outcome()
        for _, part in await asyncio.gather(*(asyncio.to_thread(pipe.recv) for pipe in pipes)):
            outcome.add(part)
        load_end = time.time()
        if fault_task is not None:
            await fault_task
        print(f"load done: {len(outcome.requests)} requests, {len(outcome.documents)} uploads; settling")

        engine = create_engine(run.settings["FOLIO_DATABASE_URL"], Settings(_env_file=None))
        try:
            settled = await settle(engine, outcome.documents, outcome.batches, seconds=arguments.settle)
            print(f"settled in {settled.seconds:.0f} s; the streams catch up")
            state = await final_state(engine, outcome.documents)
            stored = await org_events(engine, outcome.followed)
        finally:
            await engine.dispose()
        targets = {org: ids[-1] for org, ids in stored.items()}
        for pipe in pipes:
            pipe.send(("drain", targets))
        streams: list[StreamReport] = []
        for _, reports in await asyncio.gather(*(asyncio.to_thread(pipe.recv) for pipe in pipes)):
            streams += reports
        for process in processes:
            process.join(30)
        objects = await stored_objects(run.settings)
        return Result(outcome, streams, timeline, load_end, settled, state, stored, run.storage, objects)


def verdict(result: Result) -> tuple[list[str], list[tuple[str, str]]]:
    """The violations, and one row per outcome check (what was checked, what was found)."""
    outcome, settled, state = result.outcome, result.settled, result.state
    errors, allowed = server_errors(outcome.requests, result.timeline.outage(), result.timeline.start)
    server_5xx = sum(1 for request in outcome.requests if request[1] >= 500)
    lost = settled.missing_documents + settled.unfinished_documents + settled.unfinished_batches
    unfinished = [f"{count} {kind} {status}" for kind, status, count in settled.unfinished_jobs]
    duplicates = [
        f"document {id}: {chunks} chunks, {ordinals} ordinals, chunk_count {count}"
        for id, count, chunks, ordinals in state["duplicates"]
    ]
    streams = stream_violations(result.streams, result.stored)
    incomplete = [f"{outcome.incomplete_answers} streamed answers ended without `done`"] * bool(
        outcome.incomplete_answers
    )
    wrong_streams = [problem for problems in streams.values() for problem in problems]
    reconnects = sum(max(0, report.connects - 1) for report in result.streams)
    rows = [
        (
            "5xx other than documented 503s",
            f"{server_5xx - sum(allowed.values())}; allowed: {dict(allowed) or 'none'}",
        ),
        (
            "lost uploads (202 not ready or failed)",
            f"{len(lost)} of {len(outcome.documents)} documents, "
            f"{len(outcome.batches)} batches; documents: {dict(state['documents'])}",
        ),
        (
            "jobs left queued or running",
            f"{sum(count for _, _, count in settled.unfinished_jobs)} (settled {settled.seconds:.0f} s after the load)",
        ),
        (
            "documents with duplicate or missing chunks",
            f"{len(duplicates)}; chunks outside the live version: {state['other_versions']}",
        ),
        (
            "streams: every stored event once, in order",
            f"{len(result.streams) - len(streams)} of {len(result.streams)} streams right; {reconnects} reconnects",
        ),
        (
            "operations given up after 8 attempts (not a violation: both APIs down or full)",
            ", ".join(f"`{label}` × {count}" for label, count in outcome.abandoned.most_common()) or "0",
        ),
    ]
    violations = errors + [f"lost: {id}" for id in lost] + unfinished + duplicates + wrong_streams + incomplete
    return violations, rows


def table(arguments: argparse.Namespace, result: Result, rows: list[tuple[str, str]], violations: list[str]) -> str:
    outcome, timeline = result.outcome, result.timeline
    seconds = result.load_end - timeline.start
    latencies = latency_rows(outcome.requests, timeline.start, result.load_end)
    answered = sum(count for _, count, _, _ in latencies)
    endpoint_rows = "\n".join(
        f"| `{label}` | {count} | {rate:.1f} | " + " | ".join(f"{value:.0f}" for value in values) + " |"
        for label, count, rate, values in latencies
    )
    missed = [label for label, _, _, values in latencies if label in GOAL_LABELS and values[1] >= GOAL_MS]
    goal = f"missed by {', '.join(f'`{label}`' for label in missed)}" if missed else "met"
    errors = ", ".join(f"`{what}` × {count}" for what, count in status_counts(outcome.requests).most_common()) or "none"
    check_rows = "\n".join(f"| {check} | {found} |" for check, found in rows)
    listed = "\n".join(f"- {violation}" for violation in violations[:20]) or "none"
    jobs = ", ".join(f"{what} × {count}" for what, count in sorted(result.state["jobs"].items()))
    command = f"python bench/scaleout.py --clients {arguments.clients} --seconds {arguments.seconds:g}"
    objects = f", {result.objects} objects in the bucket afterwards" if result.objects is not None else ""
    return (
        f"{SECTION}\n\n{datetime.now(UTC):%Y-%m-%d}, {machine()}. `{command}`: 2 × `folio serve`, 2 × `folio worker`, "
        f"a Redis of the run's own, one PostgreSQL (the embedded server, shared over its Unix socket); files: "
        f"{result.storage}{objects}. {arguments.clients} clients (registered before the load) in {arguments.processes} "
        f"processes of their own, "
        f"{arguments.think:g} s between operations on average, spread over both APIs (a request with no answer or "
        f"a 5xx goes to the other one); one in {arguments.stream_every} follows its organization's events over SSE "
        "(`GET /events`: time to the response's headers). "
        f"Faults: {timeline.describe() or 'none'}. Everything shares the machine's 2 cores with the clients.\n\n"
        f"{answered} answered requests in {seconds:.0f} s ({answered / seconds:.0f}/s); {outcome.accounts} accounts, "
        f"{len(outcome.documents)} documents and {len(outcome.batches)} record batches accepted. Goal p95 < "
        f"{GOAL_MS} ms for search and reads: {goal}.\n\n"
        "| endpoint | requests | per s | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|\n"
        f"{endpoint_rows}\n\nNot a success, per attempt (retried ones included): {errors}.\n\n"
        f"| check | found |\n|---|---|\n{check_rows}\n\nJobs: {jobs}.\n\nViolations:\n\n{listed}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60, help="length of the load")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--think", type=float, default=1.0, help="mean pause between a client's operations, s")
    parser.add_argument("--stream-every", type=int, default=2, help="every Nth client follows its events")
    parser.add_argument("--settle", type=float, default=300, help="longest wait for every job to end after the load")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--no-faults", dest="faults", action="store_false", help="load only, nothing killed")
    parser.add_argument("--no-record", action="store_true", help="leave bench/RESULTS.md alone")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory (logs, database)")
    arguments = parser.parse_args()

    # Short: the PostgreSQL socket lives in it.
    root = Path(tempfile.mkdtemp(prefix="folio-so-"))
    result = asyncio.run(measure(arguments, root))
    violations, rows = verdict(result)
    output = table(arguments, result, rows, violations)
    print(output)
    if len(violations) > 20:
        print("Every violation:", *violations, sep="\n- ")
    if not arguments.no_record:
        record(SECTION, output)
    if violations or arguments.keep:
        print(f"logs and database kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    raise SystemExit(1 if violations else 0)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
