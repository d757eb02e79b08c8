"""`folio ingest`: upload files to a Folio server over HTTP and follow their ingestion jobs to the end."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from folio.ingest_client.events import JobEvents
from folio.ingest_client.files import SUPPORTED_EXTENSIONS, collect_files
from folio.ingest_client.follow import follow_jobs
from folio.ingest_client.http import (
    DOCUMENTS,
    RATE_LIMIT_RETRIES,
    REQUEST_TIMEOUT,
    Abort,
    Outcome,
    Status,
    check_credentials,
    error_of,
    retry_after,
)

DEFAULT_SERVER = "http://127.0.0.1:8000"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
# Sending a large file, and the server hashing and storing it, can take much longer than a read.
UPLOAD_TIMEOUT = httpx.Timeout(300.0, connect=5.0)


class _CountingFile(io.FileIO):
    """A file opened for reading that reports every chunk httpx streams from it, to drive the upload bar."""

    def __init__(self, path: Path, on_read: Callable[[int], None]) -> None:
        super().__init__(path, "rb")
        self._on_read = on_read

    def read(self, size: int | None = -1, /) -> bytes:
        data: bytes = super().read(size)
        self._on_read(len(data))
        return data


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
        time.sleep(retry_after(response))
    check_credentials(response)
    if response.status_code != 202:
        outcome.fail(*error_of(response))
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
    with (
        httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT) as client,
        JobEvents(base_url, headers) as events,
    ):
        try:
            # Opened first, so that no event of the jobs the uploads start is missed.
            events.open()
            _upload_all(client, outcomes, tags, console)
            follow_jobs(client, outcomes, console, events)
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
