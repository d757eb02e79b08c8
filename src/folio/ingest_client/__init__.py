"""`folio ingest`: upload files to a Folio server over HTTP and follow their ingestion jobs to the end."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from folio.ingest_client.files import SUPPORTED_EXTENSIONS, collect_files

DEFAULT_SERVER = "http://127.0.0.1:8000"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
POLL_INTERVAL = 0.5
# Half the default per-key rate limit (1200/minute), so following many jobs never trips it.
MAX_POLLS_PER_SECOND = 10
# How long polling may keep failing (connection errors, 5xx) before the run gives up.
GIVE_UP_AFTER = 30.0
# Jobs wait this long for a worker before the bar suggests that none is running.
WORKER_HINT_AFTER = 30.0
RATE_LIMIT_RETRIES = 5
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Sending a large file, and the server hashing and storing it, can take much longer than a poll.
UPLOAD_TIMEOUT = httpx.Timeout(300.0, connect=5.0)
DOCUMENTS = "/api/v1/documents"
JOBS = "/api/v1/jobs"


class Status(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    DUPLICATE = "duplicate"


@dataclass
class Outcome:
    path: Path
    status: Status = Status.PROCESSING
    job_id: str | None = None
    pages: int | None = None
    chunks: int | None = None
    error_code: str | None = None
    error_message: str | None = None

    def fail(self, code: str | None, message: str | None) -> None:
        self.status, self.error_code, self.error_message = Status.FAILED, code, message

    def take_counts(self, document: dict[str, Any]) -> None:
        self.pages, self.chunks = document.get("page_count"), document.get("chunk_count")


class Abort(Exception):
    """The run cannot go on: the server is unreachable or refuses the API key (exit 2)."""


class _CountingFile(io.FileIO):
    """A file opened for reading that reports every chunk httpx streams from it, to drive the upload bar."""

    def __init__(self, path: Path, on_read: Callable[[int], None]) -> None:
        super().__init__(path, "rb")
        self._on_read = on_read

    def read(self, size: int | None = -1, /) -> bytes:
        data: bytes = super().read(size)
        self._on_read(len(data))
        return data


def _error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        return error["code"], str(error.get("message") or "")
    return f"HTTP_{response.status_code}", response.reason_phrase


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), POLL_INTERVAL), 60.0)
    except ValueError:
        return 1.0


def _check_credentials(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        code, message = _error_of(response)
        raise Abort(f"The server refused the API key ({code}: {message}).")


def _unreachable(client: httpx.Client, exc: Exception) -> Abort:
    reason = str(exc) or type(exc).__name__
    return Abort(f"Cannot reach the Folio server at {client.base_url} ({reason}). Is it running? Check --server.")


def _upload(client: httpx.Client, outcome: Outcome, tags: list[str], on_read: Callable[[int], None]) -> None:
    """Send one file; record a refusal on `outcome`; `on_read(-1)` rewinds the bar before a retry."""
    data = {"tags": ",".join(tags)} if tags else {}
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        try:
            with _CountingFile(outcome.path, on_read) as stream:
                response = client.post(
                    DOCUMENTS, files={"files": (outcome.path.name, stream)}, data=data, timeout=UPLOAD_TIMEOUT
                )
        except OSError as exc:
            outcome.fail("FILE_UNREADABLE", exc.strerror or str(exc))
            return
        if response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
            break
        on_read(-1)
        time.sleep(_retry_after(response))
    _check_credentials(response)
    if response.status_code != 202:
        outcome.fail(*_error_of(response))
        return
    item = response.json()["items"][0]
    outcome.take_counts(item["document"])
    outcome.job_id = item["job_id"]
    if item["deduplicated"] or outcome.job_id is None:
        outcome.status = Status.DUPLICATE


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the upload reports why it cannot read the file


def _upload_all(client: httpx.Client, outcomes: list[Outcome], tags: list[str], console: Console) -> None:
    sizes = [_size(outcome.path) for outcome in outcomes]
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console) as progress:
        bar = progress.add_task("Uploading", total=sum(sizes))
        sent = 0
        for number, (outcome, size) in enumerate(zip(outcomes, sizes, strict=True), start=1):
            progress.update(bar, description=f"Uploading {escape(outcome.path.name)} ({number}/{len(outcomes)})")

            def on_read(count: int, start: int = sent) -> None:
                if count < 0:
                    progress.update(bar, completed=start)
                else:
                    progress.advance(bar, count)

            try:
                _upload(client, outcome, tags, on_read)
            except httpx.TransportError as exc:
                raise _unreachable(client, exc) from exc
            sent += size
            progress.update(bar, completed=sent)
            if outcome.status is Status.FAILED:
                reason = escape(f"{outcome.error_code}: {outcome.error_message}")
                progress.console.print(f"[red]Refused[/red] {escape(str(outcome.path))}: {reason}")


class _Transient(Exception):
    """The server did not answer, or answered 5xx: worth asking again for a while."""


def _get(client: httpx.Client, url: str) -> httpx.Response:
    try:
        response = client.get(url)
    except httpx.TransportError as exc:
        raise _Transient(str(exc) or type(exc).__name__) from exc
    if response.status_code >= 500:
        raise _Transient(f"it answers {response.status_code}")
    _check_credentials(response)
    return response


def _finish(client: httpx.Client, outcome: Outcome, job: dict[str, Any]) -> None:
    """Record how the finished `job` of `outcome` ended (left processing when rate limited: asked again later)."""
    if job["status"] == "failed":
        outcome.fail(job.get("error_code"), job.get("error_message"))
        return
    if job["status"] == "cancelled":
        outcome.fail(job.get("error_code") or "CANCELLED", "The ingestion job was cancelled.")
        return
    response = _get(client, f"{DOCUMENTS}/{job['subject_id']}")
    if response.status_code == 429:
        return
    if response.status_code != 200:
        outcome.fail(*_error_of(response))
        return
    document = response.json()
    outcome.take_counts(document)
    if document["status"] == "ready":
        outcome.status = Status.READY
    else:
        outcome.fail(document.get("error_code"), document.get("error_message"))


def _job_note(job: dict[str, Any], waited: float) -> str:
    if job["status"] == "queued" and job.get("error_code"):
        return f"retrying after {job['error_code']}"
    if job["status"] == "queued" and waited > WORKER_HINT_AFTER:
        return "queued (is a worker running?)"
    return str(job.get("message") or job.get("stage") or job["status"])


def _poll(client: httpx.Client, outcome: Outcome, progress: Progress, bar: TaskID, waited: float) -> float | None:
    """Ask once how the job of `outcome` is doing and show it; when rate limited, how long to wait."""
    response = _get(client, f"{JOBS}/{outcome.job_id}")
    if response.status_code == 429:
        return _retry_after(response)
    if response.status_code != 200:
        outcome.fail(*_error_of(response))
    else:
        job = response.json()
        progress.update(bar, completed=job["progress"], note=escape(_job_note(job, waited)))
        if job["status"] in ("succeeded", "failed", "cancelled"):
            _finish(client, outcome, job)
    if outcome.status is Status.READY:
        progress.update(bar, completed=100, note=f"[green]ready[/green]: {outcome.chunks} chunk(s)")
    elif outcome.status is Status.FAILED:
        progress.update(bar, note=f"[red]failed[/red]: {escape(outcome.error_code or '')}")
    return None


def _follow(client: httpx.Client, outcomes: list[Outcome], console: Console) -> None:
    shown = [outcome for outcome in outcomes if outcome.status in (Status.PROCESSING, Status.DUPLICATE)]
    if not shown:
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[note]}"))
    with Progress(*columns, console=console) as progress:
        bars: dict[int, TaskID] = {}
        for outcome in shown:
            done = outcome.status is Status.DUPLICATE
            bars[id(outcome)] = progress.add_task(
                escape(str(outcome.path)),
                total=100,
                completed=100 if done else 0,
                note="already ingested" if done else "queued",
            )
        started = time.monotonic()
        failing_since: float | None = None
        while pending := [outcome for outcome in shown if outcome.status is Status.PROCESSING]:
            pause = max(POLL_INTERVAL, len(pending) / MAX_POLLS_PER_SECOND)
            for outcome in pending:
                try:
                    rate_limited = _poll(client, outcome, progress, bars[id(outcome)], time.monotonic() - started)
                except _Transient as exc:
                    failing_since = failing_since or time.monotonic()
                    if time.monotonic() - failing_since > GIVE_UP_AFTER:
                        raise _lost(client, str(exc)) from exc
                    break
                failing_since = None
                if rate_limited is not None:
                    pause = rate_limited
                    break
            if any(outcome.status is Status.PROCESSING for outcome in shown):
                time.sleep(pause)


def _lost(client: httpx.Client, reason: str) -> Abort:
    return Abort(
        f"Lost contact with the Folio server at {client.base_url} ({reason}). Ingestion goes on there; run the same "
        "command again later to see the results (files already sent show as duplicates)."
    )


def _summary(outcomes: list[Outcome]) -> Table:
    table = Table(title="Ingestion summary", title_justify="left")
    for column in ("File", "Status", "Pages", "Chunks"):
        table.add_column(column, justify="right" if column in ("Pages", "Chunks") else "left")
    table.add_column("Error", overflow="fold")
    colours = {Status.READY: "green", Status.DUPLICATE: "cyan", Status.FAILED: "red", Status.PROCESSING: "yellow"}
    for outcome in outcomes:
        error = ": ".join(part for part in (outcome.error_code, outcome.error_message) if part)
        table.add_row(
            escape(str(outcome.path)),
            f"[{colours[outcome.status]}]{outcome.status}[/]",
            "" if outcome.pages is None else str(outcome.pages),
            "" if outcome.chunks is None else str(outcome.chunks),
            escape(error),
        )
    return table


def _server_url(server: str) -> str | None:
    try:
        url = httpx.URL(server)
    except httpx.InvalidURL:
        return None
    return str(url).rstrip("/") if url.scheme in ("http", "https") and url.host else None


def ingest(paths: list[Path], *, recursive: bool, tags: list[str], server: str, api_key: str, console: Console) -> int:
    """Upload the supported files under `paths`, follow their jobs, print a summary; the exit code."""
    if not api_key:
        console.print("[red]No API key.[/red] Pass --api-key or set FOLIO_API_KEY (`folio keys create` makes one).")
        return EXIT_USAGE
    base_url = _server_url(server)
    if base_url is None:
        console.print(f"[red]Not a server address:[/red] {escape(server)} (expected http://host:port).")
        return EXIT_USAGE
    collected = collect_files(paths, recursive=recursive)
    for path in collected.missing:
        console.print(f"[red]No such file or folder:[/red] {escape(str(path))}")
    if collected.missing:
        return EXIT_USAGE
    if collected.skipped:
        console.print(f"Skipped {collected.skipped} file(s) of unsupported types.")
    if collected.unsearched_folders:
        console.print(f"Did not look into {collected.unsearched_folders} subfolder(s); --recursive does.")
    if not collected.files:
        console.print(f"[red]No files to ingest.[/red] Supported: {' '.join(SUPPORTED_EXTENSIONS)}")
        return EXIT_USAGE

    outcomes = [Outcome(path) for path in collected.files]
    headers = {"X-API-Key": api_key, "User-Agent": "folio-ingest"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT) as client:
        try:
            _upload_all(client, outcomes, tags, console)
            _follow(client, outcomes, console)
        except Abort as exc:
            console.print(f"[red]{escape(str(exc))}[/red]")
            return EXIT_USAGE
        except KeyboardInterrupt:
            console.print("Stopped following; the server goes on ingesting what it received.")
            return EXIT_INTERRUPTED
    console.print(_summary(outcomes))
    counts = {status: sum(outcome.status is status for outcome in outcomes) for status in Status}
    console.print(
        f"{counts[Status.READY]} ready, {counts[Status.DUPLICATE]} duplicate, {counts[Status.FAILED]} failed."
    )
    return EXIT_FAILED if counts[Status.FAILED] else EXIT_OK


def parse_tags(tags: str | None) -> list[str]:
    return [tag.strip() for tag in (tags or "").split(",") if tag.strip()]


def ingest_command(
    paths: Annotated[list[Path], typer.Argument(metavar="PATHS", help="Files or folders to ingest.")],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Also take files in subfolders.")] = False,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags for every file: contracts,2026.")] = None,
    server: Annotated[str, typer.Option(envvar="FOLIO_SERVER", help="The Folio server's address.")] = DEFAULT_SERVER,
    api_key: Annotated[
        str | None, typer.Option(envvar="FOLIO_API_KEY", help="A key with documents:write and documents:read.")
    ] = None,
) -> None:
    """Upload files (PDF, DOCX, HTML, Markdown, text) and follow their ingestion; exit 1 if any failed."""
    code = ingest(
        paths, recursive=recursive, tags=parse_tags(tags), server=server, api_key=api_key or "", console=Console()
    )
    if code != EXIT_OK:
        raise typer.Exit(code)
