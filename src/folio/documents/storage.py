"""Where uploaded files live. Files are written as they stream in, hashed on the way, and size-capped."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import anyio

from folio.documents.errors import FileTooLarge


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    size: int
    sha256: str


class StorageWriter(Protocol):
    async def write(self, chunk: bytes) -> None: ...

    async def commit(self) -> StoredFile: ...

    async def abort(self) -> None: ...


class Storage(Protocol):
    async def writer(self, *, max_bytes: int) -> StorageWriter: ...

    def local_path(self, key: str) -> Path: ...

    async def delete(self, key: str) -> None: ...

    async def stale(self, older_than: timedelta) -> list[str]:
        """Keys of stored files last written more than `older_than` ago. Partial uploads that old were abandoned
        (their request died) and have no key: they are deleted on the way."""
        ...


async def save(storage: Storage, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredFile:
    """Stream `chunks` into a new file; FileTooLarge (and nothing kept) as soon as they pass `max_bytes`."""
    writer = await storage.writer(max_bytes=max_bytes)
    try:
        async for chunk in chunks:
            await writer.write(chunk)
    except BaseException:
        await writer.abort()
        raise
    return await writer.commit()


class LocalStorage:
    """Files under one directory, at keys the server generates (`ab/cd/<random>`), never client names."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    async def writer(self, *, max_bytes: int) -> LocalWriter:
        key = _new_key()
        partial = self.root / "tmp" / key.replace("/", "-")
        return LocalWriter(key, partial, self.local_path(key), await anyio.open_file(partial, "wb"), max_bytes)

    def local_path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path.parent == self.root / "tmp":
            raise ValueError(f"not a storage key: {key!r}")
        return path

    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing file is not an error."""
        await anyio.Path(self.local_path(key)).unlink(missing_ok=True)

    async def stale(self, older_than: timedelta) -> list[str]:
        return await anyio.to_thread.run_sync(self._stale, time.time() - older_than.total_seconds())

    def _stale(self, before: float) -> list[str]:
        stale = []
        for path in self.root.glob("*/*/*"):
            if path.is_file() and path.stat().st_mtime < before:
                stale.append(path.relative_to(self.root).as_posix())
        # A partial upload is abandoned once old enough: its request died before `commit` or `abort`.
        for path in (self.root / "tmp").iterdir():
            if path.stat().st_mtime < before:
                path.unlink(missing_ok=True)
        return stale


class LocalWriter:
    """Writes to a temporary file, hashing and counting; `commit` moves it under its key in one rename."""

    def __init__(self, key: str, partial: Path, final: Path, file: anyio.AsyncFile[bytes], max_bytes: int) -> None:
        self.key, self.partial, self.final, self.file, self.max_bytes = key, partial, final, file, max_bytes
        self.digest = hashlib.sha256()
        self.size = 0

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            await self.abort()
            raise FileTooLarge(details={"max_bytes": self.max_bytes})
        self.digest.update(chunk)
        await self.file.write(chunk)

    async def commit(self) -> StoredFile:
        await self.file.aclose()
        await anyio.Path(self.final.parent).mkdir(parents=True, exist_ok=True)
        await anyio.Path(self.partial).rename(self.final)
        return StoredFile(key=self.key, size=self.size, sha256=self.digest.hexdigest())

    async def abort(self) -> None:
        await self.file.aclose()
        await anyio.Path(self.partial).unlink(missing_ok=True)


def _new_key() -> str:
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"
