"""Uploading files and folders: which files a folder gives, the multipart call, and the checkpoint that lets a
folder upload stopped midway start again where it was."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from folio_client._core import Call, Core, Flow, Upload, path
from folio_client.errors import APIStatusError, FolioError
from folio_client.models import Document, Job, UploadedDocument, UploadResponse
from folio_client.pagination import PageData

# The extensions the server reads (anything else is refused with 415 UNSUPPORTED_FILE_TYPE).
SUPPORTED_EXTENSIONS = frozenset({".pdf", ".docx", ".html", ".htm", ".xhtml", ".md", ".markdown", ".txt", ".text"})
# Sending a large file, and the server hashing and storing it, can take much longer than an ordinary request.
UPLOAD_TIMEOUT = 300.0
# A refusal of one file (its type, its size…) is that file's outcome; these stop the whole folder.
_FATAL_STATUSES = frozenset({401, 403, 429})

FileSource = str | os.PathLike[str] | bytes


@dataclass(frozen=True)
class FileUpload:
    """How one file of a folder upload went. `job_id` is the ingestion job to wait for (None when the document
    was already ingested); `error` says why the file was not taken: the server refused it (its code), or it could
    not be read (`FILE_UNREADABLE`); `resumed` marks a file a checkpoint showed as sent by an earlier run (then
    `document` is None: only its ids are known)."""

    path: Path
    document_id: UUID | None = None
    job_id: UUID | None = None
    document: Document | None = None
    deduplicated: bool = False
    resumed: bool = False
    error: FolioError | None = None


@dataclass(frozen=True)
class FolderUpload:
    files: list[FileUpload]
    skipped: list[Path] = field(default_factory=list)
    """Files left out: of a type the server does not read, or hidden."""

    @property
    def job_ids(self) -> list[UUID]:
        return [each.job_id for each in self.files if each.job_id is not None]

    @property
    def failed(self) -> list[FileUpload]:
        return [each for each in self.files if each.error is not None]

    @property
    def document_ids(self) -> list[UUID]:
        return [each.document_id for each in self.files if each.document_id is not None]


def upload_call(
    source: FileSource,
    *,
    filename: str | None,
    title: str | None,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
    allow_duplicate: bool,
    on_progress: Callable[[int], None] | None,
    timeout: httpx.Timeout,
) -> Call:
    if isinstance(source, bytes):
        if not filename:
            raise ValueError("uploading bytes needs a filename (its extension tells the file's type)")
        upload = Upload(filename, source, on_progress)
    else:
        file = Path(source)
        upload = Upload(filename or file.name, file, on_progress)
    form = {"title": title} if title is not None else {}
    if tags:
        form["tags"] = json.dumps(list(tags))
    if metadata:
        form["metadata"] = json.dumps(dict(metadata))
    return Call(
        "POST",
        path("/documents"),
        params={"allow_duplicate": "true"} if allow_duplicate else None,
        upload=upload,
        form=form,
        # A repeated upload of the same content answers with the stored document (deduplicated), unless
        # duplicates are asked for.
        retry_safe=not allow_duplicate,
        timeout=timeout,
    )


def upload(core: Core, call: Call) -> Flow[UploadedDocument]:
    uploaded = yield from core.fetch(call, UploadResponse)
    return uploaded.items[0]


def ingestion_job(core: Core, uploaded: UploadedDocument) -> Flow[UUID | None]:
    """The job to wait for: the upload's own, or, for content the organization already had, the job still
    ingesting that document (None once it is ingested)."""
    if uploaded.job_id is not None or uploaded.document.status not in ("pending", "processing"):
        return uploaded.job_id
    params = {"subject_id": str(uploaded.document.id), "kind": "ingest_document", "limit": "100"}
    jobs = yield from core.fetch(Call("GET", path("/jobs"), params=params), PageData[Job])
    running = [job.id for job in jobs.items if not job.finished]
    return running[-1] if running else None


def collect(folder: Path, pattern: str) -> tuple[list[Path], list[Path]]:
    """The files under `folder` matching `pattern` that the server reads, in name order, and those left out
    (another type, or hidden: a name, or a folder on the way, starting with a dot)."""
    if not folder.is_dir():
        raise NotADirectoryError(f"not a folder: {folder}")
    taken: list[Path] = []
    skipped: list[Path] = []
    for found in sorted(folder.glob(pattern)):
        if not found.is_file():
            continue
        hidden = any(part.startswith(".") for part in found.relative_to(folder).parts)
        (skipped if hidden or found.suffix.lower() not in SUPPORTED_EXTENSIONS else taken).append(found)
    return taken, skipped


class Checkpoint:
    """A JSON-lines file naming each file of a folder upload the server took, with the size and modification time
    it had; a later run skips the files it names unchanged. Threads of one upload append to it together."""

    def __init__(self, file: Path | None, folder: Path) -> None:
        self._file = file
        self._folder = folder
        self._lock = threading.Lock()
        self._done: dict[str, dict[str, Any]] = {}
        if file is not None and file.exists():
            for line in file.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut short when an earlier run stopped
                if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                    self._done[entry["path"]] = entry

    def resumed(self, file: Path) -> FileUpload | None:
        entry = self._done.get(self._key(file))
        if entry is None or entry.get("stamp") != _stamp(file):
            return None
        return FileUpload(
            file,
            document_id=UUID(entry["document_id"]),
            job_id=UUID(entry["job_id"]) if entry.get("job_id") else None,
            deduplicated=bool(entry.get("deduplicated")),
            resumed=True,
        )

    def record(self, outcome: FileUpload) -> None:
        if self._file is None or outcome.document_id is None:
            return
        entry = {
            "path": self._key(outcome.path),
            "stamp": _stamp(outcome.path),
            "document_id": str(outcome.document_id),
            "job_id": None if outcome.job_id is None else str(outcome.job_id),
            "deduplicated": outcome.deduplicated,
        }
        with self._lock, self._file.open("a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")

    def _key(self, file: Path) -> str:
        return file.relative_to(self._folder).as_posix()


def _stamp(file: Path) -> list[int]:
    info = file.stat()
    return [info.st_size, info.st_mtime_ns]


def upload_file(core: Core, file: Path, call: Call, checkpoint: Checkpoint) -> Flow[FileUpload]:
    """One file of a folder: skipped when the checkpoint has it; a refusal of the file, or a file that cannot be
    read, is its outcome, while a refusal of the credentials, a rate limit that outlasts the retries or a server
    failure stops the folder."""
    try:
        resumed = checkpoint.resumed(file)
        if resumed is not None:
            return resumed
        uploaded = yield from upload(core, call)
    except APIStatusError as error:
        if error.status in _FATAL_STATUSES or error.status >= 500:
            raise
        return FileUpload(file, error=error)
    except OSError as error:
        return FileUpload(file, error=FolioError(error.strerror or str(error), code="FILE_UNREADABLE"))
    job_id = yield from ingestion_job(core, uploaded)
    outcome = FileUpload(
        file,
        document_id=uploaded.document.id,
        job_id=job_id,
        document=uploaded.document,
        deduplicated=uploaded.deduplicated,
    )
    checkpoint.record(outcome)
    return outcome
