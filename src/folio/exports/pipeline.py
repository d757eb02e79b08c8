"""An export's bytes, from its reader's pages: read page by page, each page in a short transaction of its own, so
that no connection waits on a client (or a slow disk), and memory holds two pages at most whatever the row count.

The rows are not one snapshot: a row changed while the export runs is exported as it was when its page was read.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.exports.formats import XlsxBook, text_format
from folio.exports.readers import Reader
from folio.exports.sql import Bounds, Page
from folio.models import ExportFormat

# Bytes of a finished XLSX file sent at a time.
_FILE_CHUNK = 1 << 20

Progress = Callable[[int], Awaitable[None]]


@dataclass
class Tally:
    """What an export has written so far."""

    rows: int = 0
    bytes: int = 0


async def pages(reader: Reader, sessionmaker: async_sessionmaker[AsyncSession], bounds: Bounds) -> AsyncIterator[Any]:
    """The reader's pages' rows in order. The next page is read while the caller writes this one: the database and this
    process work at once, and the read holds its connection only while it reads."""

    async def read(after: object) -> Page:
        async with sessionmaker() as session, session.begin():
            return await reader.page(session, after, bounds)

    pending: asyncio.Task[Page] | None = asyncio.ensure_future(read(None))
    try:
        while pending is not None:
            page = await pending
            pending = None if page.after is None else asyncio.ensure_future(read(page.after))
            if page.rows:
                yield page.rows
    finally:
        if pending is not None:
            pending.cancel()
            with suppress(asyncio.CancelledError):
                await pending


async def encoded(
    reader: Reader,
    sessionmaker: async_sessionmaker[AsyncSession],
    bounds: Bounds,
    *,
    format: ExportFormat,
    bom: bool,
    tally: Tally,
    progress: Progress | None = None,
) -> AsyncIterator[bytes]:
    """The export in `format`, in pieces of about a page. Turning rows into bytes runs in a worker thread, off the
    event loop. XLSX is a zip written at its end: it is built in a temporary file first, then sent."""
    if format is ExportFormat.XLSX:
        async for piece in _xlsx(reader, sessionmaker, bounds, tally, progress):
            yield piece
        return
    writer = text_format(format, reader.columns, bom=bom)
    yield _counted(tally, writer.start())
    async for rows in pages(reader, sessionmaker, bounds):
        yield _counted(tally, await anyio.to_thread.run_sync(writer.page, rows))
        tally.rows += len(rows)
        if progress is not None:
            await progress(tally.rows)
    yield _counted(tally, writer.end())


async def _xlsx(
    reader: Reader,
    sessionmaker: async_sessionmaker[AsyncSession],
    bounds: Bounds,
    tally: Tally,
    progress: Progress | None,
) -> AsyncIterator[bytes]:
    with tempfile.TemporaryDirectory(prefix="folio-export-") as directory:
        path = Path(directory) / "export.xlsx"
        book = await anyio.to_thread.run_sync(XlsxBook, path, reader.name, reader.columns)
        async for rows in pages(reader, sessionmaker, bounds):
            await anyio.to_thread.run_sync(book.page, rows)
            tally.rows += len(rows)
            if progress is not None:
                await progress(tally.rows)
        await anyio.to_thread.run_sync(book.close)
        async with await anyio.open_file(path, "rb") as file:
            while piece := await file.read(_FILE_CHUNK):
                yield _counted(tally, piece)


def _counted(tally: Tally, piece: bytes) -> bytes:
    tally.bytes += len(piece)
    return piece
