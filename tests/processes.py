"""A `folio serve` in a child process, and the memory of processes from /proc (psutil is not a dependency): shared
by the live-server tests and the benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_ready(url: str, *, seconds: float = 120, log: Path | None = None) -> None:
    """Until `url` answers 200; exits with the server's log tail when it never does."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    tail = f":\n{log.read_text()[-3000:]}" if log is not None and log.exists() else ""
    raise SystemExit(f"server at {url} did not become ready{tail}")


@contextmanager
def folio_server(
    data_dir: Path, settings: Mapping[str, str] | None = None, *, cpu: int | None = None
) -> Iterator[tuple[int, str]]:
    """A `folio serve` on a free port with the embedded database under `data_dir`, rate limits out of the way, and
    `settings` (FOLIO_* variables) on top; pinned to `cpu` if given. Yields its pid and base URL."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOLIO_")},
        "FOLIO_DATA_DIR": str(data_dir),
        "FOLIO_RATE_LIMIT__USER": "100000000/minute",
        "FOLIO_RATE_LIMIT__API_KEY": "100000000/minute",
        "FOLIO_RATE_LIMIT__AUTH": "1000/minute",
        **(settings or {}),
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
            [sys.executable, "-m", "folio", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=output,
        )
    try:
        if cpu is not None:
            os.sched_setaffinity(process.pid, {cpu})
        wait_ready(f"http://127.0.0.1:{port}/health/ready", seconds=300, log=log)
        yield process.pid, f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Processes' memory, from /proc (psutil is not a dependency).

# PostgreSQL runs as the server's children but is not the server's own memory.
POSTGRES = frozenset({"postgres", "pg_ctl"})


def memory(pid: int, field: str) -> int:
    """VmRSS or VmHWM of `pid` in bytes; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def proportional(pid: int) -> int:
    """The process's proportional set size in bytes (pages it shares, such as a fork server's, divided among their
    sharers); 0 once it is gone."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in rollup.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak(pid: int) -> bool:
    """Set VmHWM back to the current RSS (Linux ≥ 4.0, own processes), so that it is the peak of what follows."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def descendants(root: int) -> list[int]:
    """Every process below `root`, PostgreSQL's excepted."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        names[pid] = stat[stat.index("(") + 1 : stat.rindex(")")]
        children.setdefault(int(stat[stat.rindex(")") + 2 :].split()[1]), []).append(pid)
    found, pending = [], list(children.get(root, ()))
    while pending:
        pid = pending.pop()
        if names[pid] not in POSTGRES:
            found.append(pid)
            pending.extend(children.get(pid, ()))
    return found
