"""What the operator commands share: the settings, an engine on the configured (or embedded) database, and a unit
of work on it. Imported by a command when it runs, never by `folio --help` (it loads SQLAlchemy and the app's
settings)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import structlog
import typer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio.cli._settings import settings
from folio.cli.output import EXIT_FAILED, EXIT_INTERRUPTED, say
from folio.db import create_engine, create_sessionmaker
from folio.embedded_postgres import EmbeddedPostgres
from folio.errors import FolioError
from folio.migrate import upgrade_to_head
from folio.settings import Settings

T = TypeVar("T")


def logs_to_stderr() -> None:
    """A one-off command's stdout is its result (`KEY=$(folio keys create …)`): what the parts it uses log (the
    embedded PostgreSQL saying it is ready…) goes to stderr."""
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))


@asynccontextmanager
async def engine_for(settings: Settings) -> AsyncIterator[AsyncEngine]:
    embedded = None
    url = settings.database_url
    if url is None:
        embedded = await asyncio.to_thread(EmbeddedPostgres, settings.embedded_database_dir)
        url = embedded.url
    engine = create_engine(url, settings)
    try:
        yield engine
    finally:
        await engine.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.release)


def on_database(work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` with an engine on the database (logs to stderr); Ctrl-C exits 130."""
    logs_to_stderr()

    async def run() -> T:
        async with engine_for(settings()) as engine:
            return await work(engine)

    try:
        return asyncio.run(run())
    except KeyboardInterrupt as exc:
        say("Interrupted.")
        raise typer.Exit(EXIT_INTERRUPTED) from exc


def in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` on a migrated database and commit it, as a request would (`work` may commit part of it before
    slow work, see `folio.db.release`); a Folio error is printed (code and message, on stderr) and exits 1."""

    async def run(engine: AsyncEngine) -> T:
        await upgrade_to_head(engine)
        async with create_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result

    try:
        return on_database(run)
    except FolioError as exc:
        say(f"{exc.code}: {exc.detail_message}")
        raise typer.Exit(EXIT_FAILED) from exc
