"""The app's settings for a command, each configuration error told on a line of its own (exit 2). Light (pydantic
and the settings only): `folio serve` with a bad configuration answers in about half a second, before the server's
parts load (2.6 s when this came with the database helpers)."""

from __future__ import annotations

import typer
from pydantic import ValidationError

from folio.cli.output import EXIT_USAGE, say
from folio.settings import Settings


def settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            say(f"Configuration error: {error['msg']}")
        raise typer.Exit(EXIT_USAGE) from exc
