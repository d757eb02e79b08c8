"""`folio documents`, `folio jobs` and `folio summarize`: the organization's documents, the jobs that work on them,
and summaries written by a job."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

import typer

from folio.cli.connection import connect
from folio.cli.options import ApiKey, Json, Server, StreamJson
from folio.cli.output import EXIT_FAILED, PAGE, first, json_line, line, listed, plain, say, shown

if TYPE_CHECKING:
    from folio_client import Document, Job, Summary

documents_app = typer.Typer(help="The organization's documents.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs: ingestion, summaries…", no_args_is_help=True)

Limit = Annotated[int, typer.Option(min=1, help="At most this many.")]
DocumentId = Annotated[UUID, typer.Argument(metavar="DOCUMENT_ID", help="The document's id.")]
JobId = Annotated[UUID, typer.Argument(metavar="JOB_ID", help="The job's id.")]


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _error(code: str | None, message: str | None) -> str:
    return ": ".join(part for part in (code, message) if part)


def _status(status: str, code: str | None, message: str | None) -> str:
    error = _error(code, message)
    return status + (f" ({error})" if error else "")


@documents_app.command("list")
def list_documents(
    status: Annotated[
        Literal["pending", "processing", "ready", "failed"] | None, typer.Option(show_default=False)
    ] = None,
    limit: Limit = 20,
    as_json: Json = False,
    server: Server = None,
    api_key: ApiKey = None,
) -> None:
    """Documents, oldest first."""
    with connect(server, api_key) as folio:
        documents = first(folio.documents.list(status=status, limit=min(limit, PAGE)), limit)
    listed(
        documents, as_json=as_json, headers=["ID", "STATUS", "PAGES", "CHUNKS", "CREATED", "TITLE"], row=_document_row
    )


def _document_row(document: Document) -> list[str]:
    return [
        str(document.id),
        document.status,
        _count(document.page_count),
        _count(document.chunk_count),
        _when(document.created_at),
        document.title,
    ]


def _document_fields(document: Document) -> dict[str, str]:
    return {
        "id": str(document.id),
        "title": document.title,
        "file": f"{document.filename} ({document.kind}, {document.size_bytes} bytes)",
        "status": _status(document.status, document.error_code, document.error_message),
        "tags": ", ".join(document.tags),
        "pages": _count(document.page_count),
        "chunks": _count(document.chunk_count),
        "version": str(document.version),
        "created": _when(document.created_at),
        "processed": _when(document.processed_at),
    }


@documents_app.command("get")
def get_document(document_id: DocumentId, as_json: Json = False, server: Server = None, api_key: ApiKey = None) -> None:
    """One document: its file, status, pages and chunks."""
    with connect(server, api_key) as folio:
        document = folio.documents.get(document_id)
    shown(document, as_json=as_json, values=_document_fields)


@documents_app.command("delete")
def delete_document(document_id: DocumentId, server: Server = None, api_key: ApiKey = None) -> None:
    """Delete a document, its file, chunks and pending jobs.

    Deleting it again is no error, as in the API."""
    with connect(server, api_key) as folio:
        folio.documents.delete(document_id)
    say(f"Deleted document {document_id}.")


@jobs_app.command("list")
def list_jobs(
    status: Annotated[
        Literal["queued", "running", "succeeded", "failed", "cancelled"] | None, typer.Option(show_default=False)
    ] = None,
    kind: Annotated[str | None, typer.Option(show_default=False, help="Such as ingest_document.")] = None,
    limit: Limit = 20,
    as_json: Json = False,
    server: Server = None,
    api_key: ApiKey = None,
) -> None:
    """Jobs, oldest first."""
    with connect(server, api_key) as folio:
        jobs = first(folio.jobs.list(status=status, kind=kind, limit=min(limit, PAGE)), limit)
    listed(jobs, as_json=as_json, headers=["ID", "KIND", "STATUS", "PROGRESS", "CREATED", "ERROR"], row=_job_row)


def _job_row(job: Job) -> list[str]:
    return [str(job.id), job.kind, job.status, f"{job.progress}%", _when(job.created_at), job.error_code or ""]


def _job_fields(job: Job) -> dict[str, str]:
    return {
        "id": str(job.id),
        "kind": job.kind,
        "subject": "" if job.subject_id is None else str(job.subject_id),
        "status": _status(job.status, job.error_code, job.error_message),
        "progress": f"{job.progress}%" + (f" {job.message or job.stage}" if job.message or job.stage else ""),
        "attempts": f"{job.attempts} of {job.max_attempts}",
        "created": _when(job.created_at),
        "started": _when(job.started_at),
        "finished": _when(job.finished_at),
    }


@jobs_app.command("get")
def get_job(job_id: JobId, as_json: Json = False, server: Server = None, api_key: ApiKey = None) -> None:
    """One job: its status, progress and error."""
    with connect(server, api_key) as folio:
        job = folio.jobs.get(job_id)
    shown(job, as_json=as_json, values=_job_fields)


@jobs_app.command("watch")
def watch_job(job_id: JobId, as_json: StreamJson = False, server: Server = None, api_key: ApiKey = None) -> None:
    """Follow a job live until it ends.

    Exit 0 when it succeeded, 1 when it failed or was cancelled. With --json, each state it goes through on a line
    (job_id, status, progress, stage, message, error_code), the last one final."""
    from folio.cli._progress import following

    with connect(server, api_key, interrupted="Stopped watching; the job goes on.") as folio:
        with following(f"job {job_id}", as_json=as_json) as on_update:
            job = folio.jobs.wait(job_id, on_update=on_update)
    if not as_json:
        line(f"{job.id} {job.status}")
    _exit_unless_succeeded(job.status, job.error_code, job.error_message)


def _exit_unless_succeeded(status: str, code: str | None, message: str | None) -> None:
    if status in ("succeeded", "ready"):
        return
    say(_error(code or status.upper(), message))
    raise typer.Exit(EXIT_FAILED)


def summarize(
    document_id: Annotated[UUID, typer.Argument(metavar="DOCUMENT_ID", help="The document to summarise.")],
    template: Annotated[
        UUID | None,
        typer.Option(show_default=False, help="A summary template's id (else the organization's default)."),
    ] = None,
    summary_format: Annotated[
        Literal["paragraph", "bullets", "markdown"] | None, typer.Option("--format", show_default=False)
    ] = None,
    length: Annotated[Literal["short", "medium", "long"] | None, typer.Option(show_default=False)] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Follow the job, then print the summary's text.")] = False,
    as_json: Json = False,
    server: Server = None,
    api_key: ApiKey = None,
) -> None:
    """Summarise a document.

    Prints the summary's id (and on stderr how to follow its job), or with --wait its text once written (exit 1 if
    it failed). --json prints the summary as one JSON document."""
    with connect(server, api_key, interrupted="Stopped waiting; the summary is still being written.") as folio:
        summary = folio.summaries.create(document_id, template_id=template, format=summary_format, length=length)
        if wait and summary.job_id is not None and summary.status in ("pending", "processing"):
            from folio.cli._progress import following

            with following(f"summary {summary.id}", as_json=False) as on_update:
                folio.jobs.wait(summary.job_id, on_update=on_update)
            summary = folio.summaries.get(summary.id)
    _print_summary(summary, waited=wait, as_json=as_json)


def _print_summary(summary: Summary, *, waited: bool, as_json: bool) -> None:
    if as_json:
        json_line(plain(summary))
    elif not waited:
        line(str(summary.id))
        if summary.job_id is not None:
            say(f"Writing it: `folio jobs watch {summary.job_id}` follows the job.")
    elif summary.text is not None:
        line(summary.text)
    if waited:
        _exit_unless_succeeded(summary.status, summary.error_code, summary.error_message)
