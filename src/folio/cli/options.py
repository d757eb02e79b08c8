"""Options every client command takes."""

from __future__ import annotations

from typing import Annotated

import typer

Server = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="FOLIO_SERVER",
        show_default=False,
        help="The Folio server's address (else the config file's, else http://127.0.0.1:8000).",
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", envvar="FOLIO_API_KEY", show_default=False, help="An API key (else the config file's)."),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
StreamJson = Annotated[
    bool, typer.Option("--json", help="Print JSON lines instead of text: one JSON document per event, as they come.")
]
