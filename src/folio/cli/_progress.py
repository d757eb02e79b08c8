"""A job's progress on stderr as it runs: a bar with its stage or message (`folio jobs watch`, `folio summarize
--wait`), or its states as JSON lines on stdout with `--json`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict

from folio_client import JobUpdate
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from folio.cli.output import json_line

OnUpdate = Callable[[JobUpdate], None]


def update_json(update: JobUpdate) -> dict[str, object]:
    return {**asdict(update), "job_id": str(update.job_id)}


def note(update: JobUpdate) -> str:
    if update.error_code and update.status == "queued":
        return f"retrying after {update.error_code}"
    if update.error_code and update.finished:
        return f"{update.status}: {update.error_code}"
    return update.message or update.stage or update.status


@contextmanager
def following(title: str, *, as_json: bool) -> Iterator[OnUpdate]:
    """A callback for the SDK's `on_update`: each state on a line of JSON (stdout), or one bar (stderr)."""
    if as_json:
        yield lambda update: json_line(update_json(update))
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[note]}"))
    with Progress(*columns, console=Console(stderr=True)) as progress:
        bar = progress.add_task(escape(title), total=100, note="")

        def show(update: JobUpdate) -> None:
            progress.update(bar, completed=update.progress, note=escape(note(update)))

        yield show
