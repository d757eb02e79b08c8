"""What every storage backend offers: files written as they stream in (hashed on the way, size-capped), read back
as a stream of bytes or as a local file, listed once stale, and deleted. No caller assumes a local path."""

from __future__ import annotations

import hashlib
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

from folio.documents.errors import FileTooLarge

# Keys are generated here (`ab/cd/<32 hex digits>`), never taken from a client.
KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    size: int
    sha256: str


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    size: int
    modified: datetime


class StorageWriter(Protocol):
    async def write(self, chunk: bytes) -> None:
        """FileTooLarge (and nothing kept) when the bytes written pass the writer's `max_bytes`."""
        ...

    async def commit(self) -> StoredFile: ...

    async def abort(self) -> None:
        """Drop what was written; idempotent."""
        ...


class _Sink(Protocol):
    async def write(self, data: bytes, /) -> Any: ...


SinkT = TypeVar("SinkT", bound=_Sink)


class CappedWriter(ABC, Generic[SinkT]):
    """A writer that counts and hashes the bytes it hands to `file`, and aborts (FileTooLarge) once they pass
    `max_bytes`; each backend says how to commit and abort."""

    def __init__(self, key: str, file: SinkT, max_bytes: int) -> None:
        self.key, self.file, self.max_bytes = key, file, max_bytes
        self.digest = hashlib.sha256()
        self.size = 0

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            await self.abort()
            raise FileTooLarge(details={"max_bytes": self.max_bytes})
        self.digest.update(chunk)
        await self.file.write(chunk)

    def stored(self) -> StoredFile:
        return StoredFile(key=self.key, size=self.size, sha256=self.digest.hexdigest())

    @abstractmethod
    async def commit(self) -> StoredFile: ...

    @abstractmethod
    async def abort(self) -> None: ...


class Storage(Protocol):
    async def writer(
        self, *, max_bytes: int, filename: str | None = None, media_type: str | None = None
    ) -> StorageWriter:
        """A new file's writer. `filename` and `media_type` are what a download of the file is named and typed: a
        backend whose clients fetch files from it directly (presigned URLs) keeps them with the file."""
        ...

    async def info(self, key: str) -> ObjectInfo:
        """FileNotFoundError when there is no such file."""
        ...

    def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes from `start` to `end` (exclusive; None: to the end) as they arrive, in chunks."""
        ...

    def local_copy(self, key: str, *, head: int | None = None) -> AbstractAsyncContextManager[Path]:
        """A local file holding the file's bytes while the context lasts, for readers that need a path: the file itself
        when it is on this machine's disk, else a temporary copy. With `head`, a copy may hold only the first `head`
        bytes (for a reader that looks no further)."""
        ...

    async def download_url(self, key: str) -> str | None:
        """A short-lived URL clients may fetch the file from directly, or None: the API streams it."""
        ...

    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing file is not an error."""
        ...

    async def stale(self, older_than: timedelta) -> list[str]:
        """Keys of stored files last written more than `older_than` ago."""
        ...

    async def check(self) -> None:
        """Raises when files can be neither written nor listed now (readiness)."""
        ...


async def save(
    storage: Storage,
    chunks: AsyncIterable[bytes],
    *,
    max_bytes: int,
    filename: str | None = None,
    media_type: str | None = None,
) -> StoredFile:
    """Stream `chunks` into a new file; FileTooLarge (and nothing kept) as soon as they pass `max_bytes`."""
    writer = await storage.writer(max_bytes=max_bytes, filename=filename, media_type=media_type)
    try:
        async for chunk in chunks:
            await writer.write(chunk)
    except BaseException:
        await writer.abort()
        raise
    return await writer.commit()


def new_key() -> str:
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"


def attachment(filename: str) -> str:
    """The `Content-Disposition` of a download named `filename` (RFC 6266; `filename*` beyond plain ASCII), written as
    Starlette's FileResponse writes it, so that every way a file goes out names it the same."""
    quoted = quote(filename)
    return f"attachment; filename*=utf-8''{quoted}" if quoted != filename else f'attachment; filename="{filename}"'
