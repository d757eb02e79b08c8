"""Turning a stored file into `ExtractedText`, in this process or in a child process that can be stopped."""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, NoReturn

from folio.errors import FolioError
from folio.ingestion.errors import ExtractionFailed, ExtractionTimeout
from folio.ingestion.extract.docx import extract_docx
from folio.ingestion.extract.html import extract_html
from folio.ingestion.extract.pdf import extract_pdf
from folio.ingestion.extract.text import extract_markdown, extract_text
from folio.ingestion.extracted import ExtractedText, FileKind
from folio.observability import metrics
from folio.settings import IngestionSettings

__all__ = ["extract", "extract_isolated"]

_EXTRACTORS: dict[FileKind, Callable[[Path, IngestionSettings], ExtractedText]] = {
    FileKind.PDF: extract_pdf,
    FileKind.DOCX: extract_docx,
    FileKind.HTML: extract_html,
    FileKind.MARKDOWN: extract_markdown,
    FileKind.TEXT: extract_text,
}

# A fresh interpreter per call would re-import the parsers every time; the fork server imports them once and
# forks a clean child from that, without the threads and locks of the calling process. On this Python each child
# also runs the parent's main script again: under the `folio` console script that imported the whole app per
# extraction (3.3 s a file, measured), so the server preloads what that script imports and the children find it
# imported (21 ms).
_CONTEXT: ForkServerContext | SpawnContext
if "forkserver" in multiprocessing.get_all_start_methods():
    _CONTEXT = multiprocessing.get_context("forkserver")
    _CONTEXT.set_forkserver_preload([__name__, "folio.cli"])
else:
    _CONTEXT = multiprocessing.get_context("spawn")


def extract(path: Path, kind: FileKind, limits: IngestionSettings) -> ExtractedText:
    """The text of `path`; CPU-bound and blocking, so call it from a worker or a thread, never the event loop."""
    return _EXTRACTORS[kind](path, limits)


def extract_isolated(path: Path, kind: FileKind, limits: IngestionSettings) -> ExtractedText:
    """`extract` in a child process, killed after `limits.extract_seconds`; a parser's crash or hang stays there."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    with receiver:
        child = _CONTEXT.Process(target=_extract_in_child, args=(sender, path, kind, limits), daemon=True)
        # The parent closes its copy of the sending end, so a child that dies reads as end-of-file.
        with sender:
            child.start()
        try:
            outcome = _receive(receiver, child, limits.extract_seconds)
        finally:
            if child.is_alive():
                child.kill()
            child.join()
            child.close()
    if isinstance(outcome, _Failure):
        outcome.raise_again()
    metrics.INGESTED_PAGES.labels(kind.value).inc(len(outcome.pages))
    return outcome


def _receive(receiver: Connection, child: BaseProcess, seconds: float) -> ExtractedText | _Failure:
    if not receiver.poll(seconds):
        raise ExtractionTimeout(f"Extraction took longer than {seconds:g} seconds and was stopped.")
    try:
        outcome: ExtractedText | _Failure = receiver.recv()
    except EOFError:
        child.join()
        raise ExtractionFailed(f"The extractor stopped unexpectedly (exit code {child.exitcode}).") from None
    return outcome


@dataclass(frozen=True, slots=True)
class _Failure:
    """An exception raised in the child, sent by class and message (its traceback cannot cross processes)."""

    error_type: type[FolioError] | None
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def raise_again(self) -> NoReturn:
        if self.error_type is None:
            raise RuntimeError(f"Extraction failed in the child process:\n{self.message}")
        raise self.error_type(self.message, details=self.details)


def _extract_in_child(sender: Connection, path: Path, kind: FileKind, limits: IngestionSettings) -> None:
    outcome: ExtractedText | _Failure
    try:
        outcome = extract(path, kind, limits)
    except FolioError as error:
        outcome = _Failure(type(error), error.detail_message, error.details)
    except Exception:
        outcome = _Failure(None, traceback.format_exc())
    with sender:
        sender.send(outcome)
