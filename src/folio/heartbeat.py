"""Whether a worker still turns, from its heartbeat file (`folio worker --heartbeat-file`):
`python -m folio.heartbeat PATH [--max-age 30]` exits 0 when the file was touched within max-age seconds, else 1
with the reason on stderr. A container health check runs it every few seconds, so it imports nothing of Folio's:
the `folio` command loads the whole application first (seconds of CPU)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def problem(path: Path, max_age: float) -> str | None:
    """Why the heartbeat at `path` does not show a live worker, or None when it does."""
    try:
        age = time.time() - path.stat().st_mtime
    except OSError as exc:
        return f"no heartbeat: {path} cannot be read ({exc.strerror})"
    if age > max_age:
        return f"stale heartbeat: {path} was last touched {age:.0f} s ago (over {max_age:g} s)"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m folio.heartbeat", description=__doc__)
    parser.add_argument("path", type=Path, help="the file of `folio worker --heartbeat-file`")
    parser.add_argument(
        "--max-age", type=float, default=30.0, help="seconds since the last touch beyond which the worker is hung"
    )
    arguments = parser.parse_args(argv)
    reason = problem(arguments.path, arguments.max_age)
    if reason is None:
        return 0
    sys.stderr.write(reason + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
