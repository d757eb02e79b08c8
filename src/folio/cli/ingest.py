"""`folio ingest`: upload files and folders to a Folio server and follow their ingestion to the end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from folio.cli.connection import connect
from folio.cli.options import ApiKey, Server
from folio.cli.output import EXIT_FAILED, EXIT_USAGE, fail, say


def parse_tags(tags: str | None) -> list[str]:
    return [tag.strip() for tag in (tags or "").split(",") if tag.strip()]


def ingest(
    paths: Annotated[list[Path], typer.Argument(metavar="PATH", help="Files or folders to ingest.")],
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Also take files in subfolders.")] = False,
    tags: Annotated[str | None, typer.Option(help="Comma-separated tags for every file: contracts,2026.")] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            show_default=False,
            help="A file where the upload of one folder notes each file the server took: run the command again "
            "after an interruption and files unchanged since are not sent again.",
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=16, help="Files sent at once.")] = 4,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the outcome of every file as one JSON document.")
    ] = False,
    server: Server = None,
    api_key: ApiKey = None,
) -> None:
    """Upload files and folders and follow their ingestion.

    Takes PDF, DOCX, HTML, Markdown and text. Progress goes to stderr, then a summary of every file to stdout. Exit 1
    if any file failed, 2 for usage errors (no key, no files, server unreachable or refusing the key), 130 when
    interrupted (the server goes on with what it received)."""
    from folio_client import SUPPORTED_EXTENSIONS
    from rich.console import Console

    from folio.cli import _ingest

    planned = _ingest.plan(paths, recursive=recursive)
    for path in planned.missing:
        say(f"No such file or folder: {path}")
    if planned.missing:
        raise typer.Exit(EXIT_USAGE)
    if checkpoint is not None and (planned.files or len(planned.folders) != 1):
        fail("--checkpoint works with one folder (its files are noted relative to it).", EXIT_USAGE)
    if planned.skipped:
        say(f"Skipped {len(planned.skipped)} file(s) of unsupported types or hidden.")
    if planned.unsearched_folders:
        say(f"Did not look into {planned.unsearched_folders} subfolder(s); --recursive does.")
    if not planned.sizes:
        fail(f"No files to ingest. Supported: {' '.join(sorted(SUPPORTED_EXTENSIONS))}", EXIT_USAGE)
    console = Console(stderr=True)
    stopped = "Stopped; the server goes on ingesting what it received (run the same command again to see it)."
    with connect(server, api_key, interrupted=stopped) as folio:
        outcomes = _ingest.upload(
            folio, planned, tags=parse_tags(tags), checkpoint=checkpoint, concurrency=concurrency, console=console
        )
        _ingest.follow(folio, outcomes, console)
    _ingest.report(outcomes, skipped=len(planned.skipped), as_json=as_json)
    if any(outcome.status is _ingest.Status.FAILED for outcome in outcomes):
        raise typer.Exit(EXIT_FAILED)
