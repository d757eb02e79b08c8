"""`folio ingest`, as it runs: the files go through the SDK's folder upload (`upload_folder`: several at once, a
checkpoint to resume from), their jobs are followed with `jobs.wait_all` (the live event stream, else polling);
bars on stderr, then the summary on stdout."""

from __future__ import annotations

import glob
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path
from uuid import UUID

from folio_client import SUPPORTED_EXTENSIONS, Document, FileUpload, Folio, Job, JobUpdate
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TaskProgressColumn, TextColumn

from folio.cli._progress import note
from folio.cli.output import columns, json_line, line

# Jobs wait this long for a worker before their bar suggests that none is running.
WORKER_HINT_AFTER = 30.0


class Status(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    DUPLICATE = "duplicate"
    FAILED = "failed"


@dataclass
class Outcome:
    """How one file went, from its upload to its document."""

    path: Path
    status: Status = Status.PROCESSING
    document_id: UUID | None = None
    job_id: UUID | None = None
    deduplicated: bool = False
    resumed: bool = False
    pages: int | None = None
    chunks: int | None = None
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def of(cls, upload: FileUpload) -> Outcome:
        outcome = cls(upload.path, document_id=upload.document_id, job_id=upload.job_id, resumed=upload.resumed)
        outcome.deduplicated = upload.deduplicated
        if upload.error is not None:
            outcome.fail(upload.error.code, upload.error.message)
        elif upload.document is not None and upload.job_id is None:
            outcome.take(upload.document)  # already ingested: nothing to wait for
        return outcome

    def fail(self, code: str | None, message: str | None) -> None:
        self.status, self.error_code, self.error_message = Status.FAILED, code, message

    def take(self, document: Document) -> None:
        self.pages, self.chunks = document.page_count, document.chunk_count
        if document.status != "ready":
            self.fail(document.error_code, document.error_message)
        else:
            self.status = Status.DUPLICATE if self.deduplicated else Status.READY

    def as_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "status": self.status.value,
            "document_id": None if self.document_id is None else str(self.document_id),
            "job_id": None if self.job_id is None else str(self.job_id),
            "resumed": self.resumed,
            "pages": self.pages,
            "chunks": self.chunks,
            "error_code": self.error_code,
            "error_message": self.error_message,
        }


@dataclass
class Plan:
    """What the paths given name: folders to upload (each with its glob pattern), files named one by one, and the
    size of every file that will be sent (for the upload bar)."""

    folders: list[tuple[Path, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    sizes: dict[Path, int] = field(default_factory=dict)
    missing: list[Path] = field(default_factory=list)
    skipped: set[Path] = field(default_factory=set)  # resolved
    unsearched_folders: int = 0


def _taken(path: Path, relative: Path) -> bool:
    """The SDK's rule for a folder's files: a type the server reads, and nothing hidden on the way."""
    return path.suffix.lower() in SUPPORTED_EXTENSIONS and not any(part.startswith(".") for part in relative.parts)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the upload says why it cannot read the file


def plan(paths: Sequence[Path], *, recursive: bool) -> Plan:
    """Folders first, then the files named alone that none of them holds; each folder and file once (as given)."""
    planned = Plan()
    seen: set[Path] = set()
    pattern = "**/*" if recursive else "*"
    folders: dict[Path, Path] = {}
    for path in paths:
        if path.is_dir():
            folders.setdefault(path.resolve(), path)
    for folder in folders.values():
        planned.folders.append((folder, pattern))
        for found in sorted(folder.glob(pattern)):
            if found.is_file() and _taken(found, found.relative_to(folder)):
                seen.add(found.resolve())
                planned.sizes[found] = _size(found)
            elif found.is_file():
                planned.skipped.add(found.resolve())
        if not recursive:
            planned.unsearched_folders += sum(
                child.is_dir() and not child.name.startswith(".") for child in folder.iterdir()
            )
    for path in paths:
        if path.is_dir():
            continue
        if not path.is_file():
            planned.missing.append(path)
        elif not _taken(path, Path(path.name)):
            planned.skipped.add(path.resolve())
        elif path.resolve() not in seen:
            seen.add(path.resolve())
            planned.files.append(path)
            planned.sizes[path] = _size(path)
    return planned


class _UploadBar:
    """One bar for the bytes of every file; `on_progress` and `on_file` are called from the upload threads."""

    def __init__(self, progress: Progress, sizes: dict[Path, int]) -> None:
        self._progress = progress
        self._sizes = sizes
        self._sent: dict[Path, int] = {}
        self._done = 0
        self._lock = threading.Lock()
        self._bar = progress.add_task(self._description(), total=sum(sizes.values()))

    def _description(self) -> str:
        return f"Uploading ({self._done}/{len(self._sizes)} files)"

    def on_progress(self, path: Path, sent: int) -> None:
        with self._lock:
            self._sent[path] = sent
            self._progress.update(self._bar, completed=sum(self._sent.values()))

    def on_file(self, upload: FileUpload) -> None:
        with self._lock:
            self._done += 1
            self._sent[upload.path] = self._sizes.get(upload.path, 0)
            self._progress.update(self._bar, completed=sum(self._sent.values()), description=self._description())
        if upload.error is not None:
            reason = f"{upload.error.code}: {upload.error.message}"
            self._progress.console.print(f"[red]Refused[/red] {escape(str(upload.path))}: {escape(reason)}")


def upload(
    folio: Folio, planned: Plan, *, tags: list[str], checkpoint: Path | None, concurrency: int, console: Console
) -> list[Outcome]:
    layout = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TaskProgressColumn())
    uploads: list[FileUpload] = []
    with Progress(*layout, console=console) as progress:
        bar = _UploadBar(progress, planned.sizes)
        send = partial(folio.documents.upload_folder, tags=tags, on_progress=bar.on_progress, on_file=bar.on_file)
        for folder, pattern in planned.folders:
            uploads.extend(send(folder, pattern=pattern, concurrency=concurrency, checkpoint=checkpoint).files)
        for file in planned.files:
            # A file named alone is a folder upload of one: the same outcomes, refusals and retries.
            uploads.extend(send(file.parent, pattern=glob.escape(file.name)).files)
    return [Outcome.of(each) for each in uploads]


class _JobBars:
    def __init__(self, progress: Progress, outcomes: list[Outcome]) -> None:
        self._progress = progress
        self._started = time.monotonic()
        self.of_job: dict[UUID, list[TaskID]] = {}
        self.of_outcome: dict[int, TaskID] = {}
        for index, outcome in enumerate(outcomes):
            if outcome.status is Status.FAILED:
                continue
            waiting = outcome.job_id is not None
            earlier = "sent by an earlier run" if outcome.resumed else "already ingested"
            bar = progress.add_task(
                escape(str(outcome.path)),
                total=100,
                completed=0 if waiting else 100,
                note="queued" if waiting else earlier,
            )
            self.of_outcome[index] = bar
            if outcome.job_id is not None:
                self.of_job.setdefault(outcome.job_id, []).append(bar)

    def show(self, update: JobUpdate) -> None:
        shown = escape(note(update))
        if update.status == "queued" and not update.error_code and time.monotonic() - self._started > WORKER_HINT_AFTER:
            shown = "queued (is a worker running?)"
        elif update.finished:
            colour = "green" if update.status == "succeeded" else "red"
            shown = f"[{colour}]{shown}[/]"
        for bar in self.of_job.get(update.job_id, []):
            self._progress.update(bar, completed=update.progress, note=shown)

    def settled(self, index: int, outcome: Outcome) -> None:
        bar = self.of_outcome[index]
        if outcome.status is Status.FAILED:
            self._progress.update(bar, note=f"[red]failed[/red]: {escape(outcome.error_code or '')}")
        else:
            self._progress.update(
                bar, completed=100, note=f"[green]{outcome.status}[/green]: {outcome.chunks} chunk(s)"
            )


def follow(folio: Folio, outcomes: list[Outcome], console: Console) -> None:
    """Wait for the ingestion jobs, then settle each file from its job and its document (the job rows and the
    documents are the truth, not the events)."""
    if all(outcome.status is Status.FAILED for outcome in outcomes):
        return
    layout = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[note]}"))
    with Progress(*layout, console=console) as progress:
        bars = _JobBars(progress, outcomes)
        jobs = {job.id: job for job in folio.jobs.wait_all(list(bars.of_job), on_update=bars.show)}
        for index, outcome in enumerate(outcomes):
            if outcome.status is Status.FAILED:
                continue
            if outcome.job_id is not None or outcome.resumed:
                _settle(folio, outcome, jobs.get(outcome.job_id) if outcome.job_id else None)
                bars.settled(index, outcome)


def _settle(folio: Folio, outcome: Outcome, job: Job | None) -> None:
    if job is not None and job.status == "failed":
        outcome.fail(job.error_code, job.error_message)
    elif job is not None and job.status == "cancelled":
        outcome.fail(job.error_code or "CANCELLED", "The ingestion job was cancelled.")
    elif outcome.document_id is not None:
        outcome.take(folio.documents.get(outcome.document_id))


def report(outcomes: list[Outcome], *, skipped: int, as_json: bool) -> None:
    if as_json:
        json_line({"files": [outcome.as_json() for outcome in outcomes], "skipped": skipped})
        return
    rows = [
        [
            str(outcome.path),
            outcome.status.value,
            "" if outcome.pages is None else str(outcome.pages),
            "" if outcome.chunks is None else str(outcome.chunks),
            ": ".join(part for part in (outcome.error_code, outcome.error_message) if part),
        ]
        for outcome in outcomes
    ]
    columns(rows, ["FILE", "STATUS", "PAGES", "CHUNKS", "ERROR"])
    counts = {status: sum(outcome.status is status for outcome in outcomes) for status in Status}
    resumed = sum(outcome.resumed for outcome in outcomes)
    earlier = f" ({resumed} sent by an earlier run)" if resumed else ""
    line(
        f"{counts[Status.READY]} ready, {counts[Status.DUPLICATE]} duplicate, {counts[Status.FAILED]} failed.{earlier}"
    )
