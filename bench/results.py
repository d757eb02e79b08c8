"""What every benchmark here shares: recording its section of bench/RESULTS.md, the machine it ran on, and (from
tests/processes.py) a `folio serve` to measure with its processes' memory."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
sys.path.insert(0, str(ROOT))
from tests.processes import descendants, folio_server, free_port, memory, reset_peak, wait_ready  # noqa: E402

__all__ = ["descendants", "folio_server", "free_port", "machine", "memory", "record", "reset_peak", "wait_ready"]


def machine() -> str:
    info = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), platform.processor())
    total = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    ram = int(total.split()[1]) / 1024 / 1024
    return f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM, Python {platform.python_version()}"


def record(section: str, table: str) -> None:
    """Replace the benchmark's own section (from its `## ` heading to the next one), or append it."""
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    start = existing.find(section)
    if start == -1:
        updated = existing.rstrip() + "\n\n" + table
    else:
        end = existing.find("\n## ", start + len(section))
        updated = existing[:start] + table.rstrip() + "\n" + (existing[end:] if end != -1 else "")
    RESULTS.write_text(updated)
