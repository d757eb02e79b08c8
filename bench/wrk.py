"""Request latency measured by `wrk` (Debian's `wrk` package): closed-loop keep-alive connections, headers and the
figures read through a Lua script. Run from a process pinned to a core, wrk inherits the pinning."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# wrk calls `done` once with every thread's figures merged; latencies are in microseconds.
_SCRIPT = """
wrk.method = "GET"
{headers}
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK-RESULT {{"requests": %d, "seconds": %.6f, "non_2xx": %d, "socket_errors": %d, '
    .. '"p50": %.3f, "p95": %.3f, "p99": %.3f, "max": %.3f}}\\n',
    summary.requests, summary.duration / 1e6, errors.status, errors.connect + errors.read + errors.write
    + errors.timeout, latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3))
end
"""


@dataclass(frozen=True, slots=True)
class Latency:
    connections: int
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50: float  # milliseconds
    p95: float
    p99: float
    max: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def require() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (Debian's package)")
    return found


def install() -> str:
    """wrk, installed from Debian's package when missing (the package lists refreshed if the first try fails)."""
    if shutil.which("wrk") is None:
        print("wrk is missing: installing Debian's package", file=sys.stderr)
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        command = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(command, check=False, capture_output=True).returncode != 0:
            subprocess.run([*sudo, "apt-get", "update", "-q"], check=False, capture_output=True)
            subprocess.run(command, check=False, capture_output=True)
    return require()


def measure(
    url: str, headers: Mapping[str, str], *, connections: int, seconds: float, timeout_seconds: float = 10
) -> Latency:
    """`connections` keep-alive connections on one wrk thread, GET `url` for `seconds`."""
    lines = "\n".join(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}" for name, value in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_SCRIPT.format(headers=lines))
    try:
        command = [
            require(),
            "--threads",
            "1",
            "--connections",
            str(connections),
            "--duration",
            f"{seconds:g}s",
            "--timeout",
            f"{timeout_seconds:g}s",
            "--script",
            script.name,
            url,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    finally:
        Path(script.name).unlink()
    marker = next((line for line in done.stdout.splitlines() if line.startswith("WRK-RESULT ")), None)
    if done.returncode != 0 or marker is None:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return Latency(connections=connections, **json.loads(marker.removeprefix("WRK-RESULT ")))
