"""What every benchmark here shares: a free port, and recording its section of bench/RESULTS.md."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def record(section: str, table: str) -> None:
    """Replace the benchmark's own section (from its `## ` heading to the next one), or append it."""
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    start = existing.find(section)
    if start == -1:
        updated = existing.rstrip() + "\n\n" + table
    else:
        end = existing.find("\n## ", start + len(section))
        updated = existing[:start] + table + (existing[end + 1 :] if end != -1 else "")
    RESULTS.write_text(updated)


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
