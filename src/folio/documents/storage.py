"""Where uploaded files live. Files are written as they stream in, hashed on the way, and size-capped."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import anyio

from folio.documents.errors import FileTooLarge


@dataclass(frozen=True, slots=True)
class StoredFile:
    key: str
    size: int
    sha256: str


class Storage(Protocol):
    async def save(self, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredFile: ...

    def local_path(self, key: str) -> Path: ...

    async def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files under one directory, at keys the server generates (`ab/cd/<random>`), never client names."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    async def save(self, chunks: AsyncIterable[bytes], *, max_bytes: int) -> StoredFile:
        """Stream `chunks` to a new file; FileTooLarge (and nothing kept) as soon as they pass `max_bytes`."""
        key = _new_key()
        partial = self.root / "tmp" / key.replace("/", "-")
        digest = hashlib.sha256()
        size = 0
        try:
            async with await anyio.open_file(partial, "wb") as file:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise FileTooLarge(details={"max_bytes": max_bytes})
                    digest.update(chunk)
                    await file.write(chunk)
            final = self.local_path(key)
            await anyio.Path(final.parent).mkdir(parents=True, exist_ok=True)
            await anyio.Path(partial).rename(final)
        except BaseException:
            await anyio.Path(partial).unlink(missing_ok=True)
            raise
        return StoredFile(key=key, size=size, sha256=digest.hexdigest())

    def local_path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path.parent == self.root / "tmp":
            raise ValueError(f"not a storage key: {key!r}")
        return path

    async def delete(self, key: str) -> None:
        """Idempotent: deleting a missing file is not an error."""
        await anyio.Path(self.local_path(key)).unlink(missing_ok=True)


def _new_key() -> str:
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"
