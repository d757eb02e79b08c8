"""Folio's per-request overhead against a bare FastAPI app: `make bench` (or `python bench/api_overhead.py`).

GET /api/v1/auth/me with a JWT and with an API key (authentication, the membership/session query, rate limit,
request log, metrics) beside a hello-world FastAPI app; one uvicorn worker each, 50 concurrent keep-alive
clients, the load generator pinned to one core and the server to the other. Prints a table and records it in
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).parent))
from loadgen import Result, run
from results import free_port, record, wait_ready

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## API overhead"
SERVER_CPU, CLIENT_CPU = 1, 0


@contextmanager
def server(command: list[str], env: dict[str, str], ready_url: str) -> Iterator[None]:
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        os.sched_setaffinity(process.pid, {SERVER_CPU})
        wait_ready(ready_url)
        yield
    finally:
        process.terminate()
        process.wait(60)


def measure(port: int, path: str, headers: dict[str, str], args: argparse.Namespace) -> Result:
    asyncio.run(run("127.0.0.1", port, path, headers, args.connections, args.warmup))
    result = asyncio.run(run("127.0.0.1", port, path, headers, args.connections, args.seconds))
    if result.errors:
        raise SystemExit(f"{result.errors} non-200 answers from {path}")
    return result


def folio_credentials(base: str) -> tuple[str, str]:
    password = "benchmark passphrase 2026"
    httpx.post(f"{base}/api/v1/auth/register", json={"email": "bench@example.com", "password": password, "name": "B"})
    login = httpx.post(f"{base}/api/v1/auth/login", json={"email": "bench@example.com", "password": password})
    token = login.json()["access_token"]
    key = httpx.post(
        f"{base}/api/v1/api-keys",
        json={"name": "bench", "scopes": ["search"]},
        headers={"Authorization": f"Bearer {token}"},
    ).json()["secret"]
    return token, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    uvloop.install()
    os.sched_setaffinity(0, {CLIENT_CPU})
    uvicorn_flags = ["--no-access-log", "--log-level", "warning", "--loop", "uvloop", "--http", "httptools"]
    results: dict[str, Result] = {}

    port = free_port()
    hello = [sys.executable, "-m", "uvicorn", "hello_app:app", "--app-dir", "bench", "--port", str(port)]
    with server([*hello, *uvicorn_flags], dict(os.environ), f"http://127.0.0.1:{port}/hello"):
        results["bare FastAPI hello-world"] = measure(port, "/hello", {}, args)

    data_dir = Path(tempfile.mkdtemp(prefix="folio-bench-"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")},
        "FOLIO_DATA_DIR": str(data_dir),
        # Rate limiting stays on (its cost is part of the overhead) with limits the run cannot reach.
        "FOLIO_RATE_LIMIT__USER": "100000000/minute",
        "FOLIO_RATE_LIMIT__API_KEY": "100000000/minute",
        "FOLIO_RATE_LIMIT__AUTH": "1000/minute",
    }
    try:
        with server(
            [sys.executable, "-m", "folio", "serve", "--port", str(port)], env, f"http://127.0.0.1:{port}/health/ready"
        ):
            token, key = folio_credentials(f"http://127.0.0.1:{port}")
            results["Folio /auth/me, JWT"] = measure(
                port, "/api/v1/auth/me", {"Authorization": f"Bearer {token}"}, args
            )
            results["Folio /auth/me, API key"] = measure(port, "/api/v1/auth/me", {"X-API-Key": key}, args)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)

    table = render(results, args)
    print(table)
    if not args.no_record:
        record(SECTION, table)


def render(results: dict[str, Result], args: argparse.Namespace) -> str:
    baseline = results["bare FastAPI hello-world"].rps
    rows = [
        f"| {name} | {r.rps:,.0f} | {r.percentile(0.5):.1f} | {r.percentile(0.99):.1f} | {r.rps / baseline:.0%} |"
        for name, r in results.items()
    ]
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return "\n".join(
        [
            f"{SECTION}",
            "",
            f"`python bench/api_overhead.py` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cpu}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}; one uvicorn worker (uvloop, httptools) pinned to CPU {SERVER_CPU}, "
            f"the embedded PostgreSQL unpinned, the load generator ({args.connections} keep-alive connections, "
            f"{args.seconds:g} s after {args.warmup:g} s warm-up) pinned to CPU {CLIENT_CPU}.",
            "",
            "| target | requests/s | p50 ms | p99 ms | of bare throughput |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            "Goal: ≥ 40 % of the bare app's throughput and p99 < 50 ms at 50 concurrent clients on one worker.",
            "",
        ]
    )


if __name__ == "__main__":
    main()
