from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from folio.documents.errors import FileTooLarge
from folio.documents.storage import LocalStorage, save


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def test_save_streams_hashes_and_sizes(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    stored = await save(storage, stream(b"hello ", b"world"), max_bytes=100)

    assert stored.size == 11
    assert stored.sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert storage.local_path(stored.key).read_bytes() == b"hello world"
    assert list((tmp_path / "tmp").iterdir()) == []


async def test_keys_are_generated_not_derived_from_content(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    first = await save(storage, stream(b"same"), max_bytes=100)
    second = await save(storage, stream(b"same"), max_bytes=100)
    assert first.key != second.key
    assert first.sha256 == second.sha256


async def test_too_large_stops_reading_and_keeps_nothing(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    consumed: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for index in range(1000):
            consumed.append(index)
            yield b"x" * 1024

    with pytest.raises(FileTooLarge):
        await save(storage, endless(), max_bytes=10 * 1024)

    assert len(consumed) == 11  # the chunk that crossed the limit was the last one read
    assert files_under(tmp_path) == []


async def test_delete_is_idempotent(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    stored = await save(storage, stream(b"bye"), max_bytes=100)
    await storage.delete(stored.key)
    await storage.delete(stored.key)
    assert not storage.local_path(stored.key).exists()


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "ab/../../x", "tmp/partial"])
def test_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        LocalStorage(tmp_path / "files").local_path(key)
