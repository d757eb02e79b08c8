"""What every benchmark here shares: a free port, and recording its section of bench/RESULTS.md."""

from __future__ import annotations

import socket
from pathlib import Path

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
