"""Folio's per-request overhead against a bare FastAPI app: `make bench` (or `python bench/api_overhead.py`).

GET /api/v1/auth/me with a JWT and with an API key (authentication, the principal cache, rate limit, request log,
metrics) beside a hello-world FastAPI app; one uvicorn worker each (embedded mode: one process, the embedded
PostgreSQL), pinned to one core, and `wrk` (Debian's package, installed when missing) with 50 keep-alive
connections on one thread pinned to the other. Also served with the principal cache off
(FOLIO_AUTH__PRINCIPAL_CACHE_SECONDS=0), where every request reads the database. Besides wrk's figures, the server
process's CPU time per request from /proc: what a request costs whatever else the machine runs. Prints a table and
records it in bench/RESULTS.md (`--no-record` to print only).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import wrk
from cases import cpu_seconds
from results import ROOT, folio_server, free_port, machine, record, wait_ready

SECTION = "## API overhead"
SERVER_CPU, CLIENT_CPU = 1, 0
GOAL_SHARE, GOAL_P99_MS = 0.40, 50.0


@dataclass(frozen=True, slots=True)
class Row:
    latency: wrk.Latency
    cpu_ms: float  # the server process's CPU time per request


@contextmanager
def hello_server() -> Iterator[tuple[int, str]]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "hello_app:app", "--app-dir", "bench", "--port", str(port)]
    flags = ["--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"]
    process = subprocess.Popen([*command, *flags], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        os.sched_setaffinity(process.pid, {SERVER_CPU})
        wait_ready(f"http://127.0.0.1:{port}/hello")
        yield process.pid, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(60)


def measure(pid: int, url: str, headers: dict[str, str], args: argparse.Namespace) -> Row:
    wrk.measure(url, headers, connections=args.connections, seconds=args.warmup)
    before = cpu_seconds(pid, waited=False)
    latency = wrk.measure(url, headers, connections=args.connections, seconds=args.seconds)
    cpu = cpu_seconds(pid, waited=False) - before
    if latency.non_2xx or latency.socket_errors:
        raise SystemExit(f"{url}: {latency.non_2xx} non-2xx answers, {latency.socket_errors} socket errors")
    return Row(latency, cpu / latency.requests * 1000)


def folio_credentials(base: str) -> tuple[str, str]:
    password = "benchmark passphrase 2026"
    body = {"email": "bench@example.com", "password": password, "name": "B"}
    token = httpx.post(f"{base}/api/v1/auth/register", json=body).json()["access_token"]
    key = httpx.post(
        f"{base}/api/v1/api-keys",
        json={"name": "bench", "scopes": ["search"]},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["secret"]
    return token, key


def folio_rows(label: str, settings: dict[str, str], args: argparse.Namespace) -> dict[str, Row]:
    data_dir = Path(tempfile.mkdtemp(prefix="folio-bench-"))
    try:
        with folio_server(data_dir, settings, cpu=SERVER_CPU) as (pid, base):
            token, key = folio_credentials(base)
            url = f"{base}/api/v1/auth/me"
            return {
                f"Folio /auth/me, JWT{label}": measure(pid, url, {"Authorization": f"Bearer {token}"}, args),
                f"Folio /auth/me, API key{label}": measure(pid, url, {"X-API-Key": key}, args),
            }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    wrk.install()
    os.sched_setaffinity(0, {CLIENT_CPU})  # wrk inherits it
    rows: dict[str, Row] = {}
    with hello_server() as (pid, base):
        rows["bare FastAPI hello-world"] = measure(pid, f"{base}/hello", {}, args)
    rows |= folio_rows("", {}, args)
    rows |= folio_rows(" (principal cache off)", {"FOLIO_AUTH__PRINCIPAL_CACHE_SECONDS": "0"}, args)
    table = render(rows, args)
    print(table)
    if not args.no_record:
        record(SECTION, table)


def render(rows: dict[str, Row], args: argparse.Namespace) -> str:
    baseline = rows["bare FastAPI hello-world"].latency.rps
    lines = [
        f"| {name} | {row.latency.rps:,.0f} | {row.latency.p50:.1f} | {row.latency.p99:.1f} | {row.cpu_ms:.3f} "
        f"| {row.latency.rps / baseline:.0%} |"
        for name, row in rows.items()
    ]
    return "\n".join(
        [
            SECTION,
            "",
            f"`python bench/api_overhead.py` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; one uvicorn "
            f"worker (uvloop, httptools) pinned to CPU {SERVER_CPU}, the embedded PostgreSQL unpinned, wrk (one "
            f"thread, {args.connections} keep-alive connections, {args.seconds:g} s after {args.warmup:g} s of "
            f"warm-up) pinned to CPU {CLIENT_CPU}. Server CPU: the server process's user + system time per request.",
            "",
            "| target | requests/s | p50 ms | p99 ms | server CPU ms | of bare throughput |",
            "|---|---:|---:|---:|---:|---:|",
            *lines,
            "",
            f"Goal: ≥ {GOAL_SHARE:.0%} of the bare app's throughput and p99 < {GOAL_P99_MS:g} ms at 50 concurrent "
            "connections on one worker.",
            "",
        ]
    )


if __name__ == "__main__":
    main()
