"""Files under one directory of this machine (`<data_dir>/files`): the default, for one host."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio

from folio.documents.storage.base import CHUNK_BYTES, KEY, CappedWriter, ObjectInfo, StoredFile, new_key


class LocalStorage:
    """Files at keys the server generates (`ab/cd/<random>`), never client names."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    async def writer(
        self, *, max_bytes: int, filename: str | None = None, media_type: str | None = None
    ) -> LocalWriter:
        """`filename` and `media_type` are not kept: the API serves these files itself, and names them then."""
        key = new_key()
        partial = self.root / "tmp" / key.replace("/", "-")
        return LocalWriter(key, partial, self.local_path(key), await anyio.open_file(partial, "wb"), max_bytes)

    def local_path(self, key: str) -> Path:
        """Where the file is: for this backend's own users (the HTTP edge serves it with sendfile and Range)."""
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path.parent == self.root / "tmp":
            raise ValueError(f"not a storage key: {key!r}")
        return path

    async def info(self, key: str) -> ObjectInfo:
        stat = await anyio.Path(self.local_path(key)).stat()
        return ObjectInfo(size=stat.st_size, modified=datetime.fromtimestamp(stat.st_mtime, UTC))

    async def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        async with await anyio.open_file(self.local_path(key), "rb") as file:
            await file.seek(start)
            left = None if end is None else end - start
            while left is None or left > 0:
                chunk = await file.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                yield chunk

    @asynccontextmanager
    async def local_copy(self, key: str, *, head: int | None = None) -> AsyncIterator[Path]:
        path = self.local_path(key)
        if not await anyio.Path(path).is_file():
            raise FileNotFoundError(key)
        yield path

    async def download_url(self, key: str) -> None:
        return None

    async def delete(self, key: str) -> None:
        await anyio.Path(self.local_path(key)).unlink(missing_ok=True)

    async def check(self) -> None:
        if not await anyio.Path(self.root / "tmp").is_dir():
            raise FileNotFoundError(f"the storage directory {self.root} is gone")

    async def stale(self, older_than: timedelta) -> list[str]:
        """Only keys this storage makes. Also deletes the partial files of uploads that old: their request died
        before `commit` or `abort`."""
        return await anyio.to_thread.run_sync(self._stale, time.time() - older_than.total_seconds())

    def _stale(self, before: float) -> list[str]:
        stale = []
        for path in self.root.glob("*/*/*"):
            key = path.relative_to(self.root).as_posix()
            if KEY.fullmatch(key) and path.is_file() and path.stat().st_mtime < before:
                stale.append(key)
        for path in (self.root / "tmp").iterdir():
            if path.stat().st_mtime < before:
                path.unlink(missing_ok=True)
        return stale


class LocalWriter(CappedWriter[anyio.AsyncFile[bytes]]):
    """Writes to a temporary file, hashing and counting; `commit` moves it under its key in one rename."""

    def __init__(self, key: str, partial: Path, final: Path, file: anyio.AsyncFile[bytes], max_bytes: int) -> None:
        super().__init__(key, file, max_bytes)
        self.partial, self.final = partial, final

    async def commit(self) -> StoredFile:
        await self.file.aclose()
        await anyio.Path(self.final.parent).mkdir(parents=True, exist_ok=True)
        await anyio.Path(self.partial).rename(self.final)
        return self.stored()

    async def abort(self) -> None:
        await self.file.aclose()
        await anyio.Path(self.partial).unlink(missing_ok=True)
