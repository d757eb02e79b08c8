"""How long `folio` takes to start: `--help`, `--version` and a few commands' `--help` through the installed console
script, next to what a command's run imports (the SDK for a client command, the server's parts for `folio serve`:
what `--help` loaded before its imports were made lazy). Each line is run `--runs` times in a fresh process; the
table gives the median, fastest and slowest wall time, and the median CPU time (user + system) of the process, which
a busy machine inflates less than the wall time. With hyperfine on the PATH it measures (after a warm-up run; its
CPU figure is a mean); otherwise this script times the processes itself. The machine's load average is recorded
with the figures.

    python bench/cli_startup.py            # --runs 15
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of each run."""
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)  # warm-up: the files in the page cache
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), _children_cpu()
        subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu)
    return walls, cpus


def hyperfined(command: list[str], runs: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "times.json"
        subprocess.run(
            ["hyperfine", "--warmup", "1", "--runs", str(runs), "--shell=none", "--export-json", str(export)]
            + ["--style", "none", subprocess.list2cmdline(command)],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        result = json.loads(export.read_text())["results"][0]
        return list(result["times"]), [result["user"] + result["system"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    measure = hyperfined if shutil.which("hyperfine") else timed
    load_before = os.getloadavg()[0]
    rows = []
    for label, command in COMMANDS.items():
        walls, cpus = measure(command, args.runs)
        rows.append(
            f"| {label} | {statistics.median(walls) * 1000:,.0f} | {min(walls) * 1000:,.0f} "
            f"| {max(walls) * 1000:,.0f} | {statistics.median(cpus) * 1000:,.0f} |"
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
            "| command | median ms | fastest ms | slowest ms | CPU ms |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            "Goal: `folio --help` under 1 s. Building the command list imports typer (which imports pydantic) and "
            "the command modules only; a command's own `--help` costs ~0.3 s more CPU, as typer builds a pydantic "
            "TypeAdapter for each of its parameters. Before, the CLI imported the server's parts to list its "
            "commands: `--help` cost what the last line costs. `tests/cli/test_startup.py` checks that no `--help` "
            "imports SQLAlchemy, the OpenAI SDK, taskiq, onnxruntime, numpy, the SDK or rich.",
            "",
        ]
    )
    print(table)
    if not args.no_record:
        record(SECTION, table)


if __name__ == "__main__":
    main()
