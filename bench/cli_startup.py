"""How long `folio` takes to start: `--help`, `--version` and a few commands' `--help` through the installed console
script, next to what a command's run imports (the SDK for a client command, the server's parts for `folio serve`:
what `--help` loaded before its imports were made lazy). Each line is run `--runs` times in a fresh process; the
table gives the median, fastest and slowest wall time. With hyperfine on the PATH it measures (after a warm-up run);
otherwise this script times the processes itself. The machine's load average is recorded with the figures, as it
moves them on a shared machine.

    python bench/cli_startup.py            # --runs 15
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from results import machine, record

SECTION = "## CLI start-up"
FOLIO = str(Path(sys.executable).with_name("folio"))
COMMANDS: dict[str, list[str]] = {
    "folio --help": [FOLIO, "--help"],
    "folio --version": [FOLIO, "--version"],
    "folio ask --help": [FOLIO, "ask", "--help"],
    "folio ingest --help": [FOLIO, "ingest", "--help"],
    "folio serve --help": [FOLIO, "serve", "--help"],
    "folio keys create --help": [FOLIO, "keys", "create", "--help"],
    "python -c pass (the interpreter alone)": [sys.executable, "-c", "pass"],
    "import folio_client (a client command's run)": [sys.executable, "-c", "import folio_client"],
    "import the server's parts (`folio serve`'s run)": [sys.executable, "-c", "import folio.cli._processes"],
}


def timed(command: list[str], runs: int) -> list[float]:
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)  # warm-up: the files in the page cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return times


def hyperfined(command: list[str], runs: int) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "times.json"
        subprocess.run(
            ["hyperfine", "--warmup", "1", "--runs", str(runs), "--shell=none", "--export-json", str(export)]
            + ["--style", "none", subprocess.list2cmdline(command)],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        times: list[float] = json.loads(export.read_text())["results"][0]["times"]
        return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    measure = hyperfined if shutil.which("hyperfine") else timed
    load_before = os.getloadavg()[0]
    rows = []
    for label, command in COMMANDS.items():
        times = measure(command, args.runs)
        rows.append(
            f"| {label} | {statistics.median(times) * 1000:,.0f} | {min(times) * 1000:,.0f} "
            f"| {max(times) * 1000:,.0f} |"
        )
    load_after = os.getloadavg()[0]
    tool = "hyperfine" if measure is hyperfined else "subprocess runs timed by the script"
    table = "\n".join(
        [
            SECTION,
            "",
            f"`python bench/cli_startup.py` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {machine()}; {args.runs} runs "
            f"of each line after one warm-up ({tool}); load average {load_before:.1f} before, {load_after:.1f} after "
            "(the machine is shared).",
            "",
            "| command | median ms | fastest ms | slowest ms |",
            "|---|---:|---:|---:|",
            *rows,
            "",
            "Goal: `folio --help` under 1 s. Building the command list imports typer (and, through it, pydantic) and "
            "the command modules only; `tests/cli/test_startup.py` checks that no `--help` imports SQLAlchemy, the "
            "OpenAI SDK, taskiq, onnxruntime, numpy, the SDK or rich.",
            "",
        ]
    )
    print(table)
    if not args.no_record:
        record(SECTION, table)


if __name__ == "__main__":
    main()
