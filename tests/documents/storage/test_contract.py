"""What every storage backend promises, checked against each: a local directory and a bucket on a real S3 server."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import anyio
import pytest

from folio.documents.errors import FileTooLarge
from folio.documents.storage import LocalStorage, S3Storage, Storage, save
from folio.documents.storage.base import new_key
from folio.settings.storage import StorageSettings
from tests.documents.storage.conftest import Raw
from tests.s3 import S3

MiB = 1024 * 1024


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def read_all(storage: Storage, key: str, *, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, start=start, end=end)])


async def test_a_file_streams_in_hashed_and_sized_and_reads_back(storage: Storage, raw: Raw) -> None:
    stored = await save(storage, stream(b"hello ", b"world"), max_bytes=100)

    assert stored.size == 11
    assert stored.sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert await read_all(storage, stored.key) == b"hello world"
    assert (await storage.info(stored.key)).size == 11
    assert await raw.held() == [stored.key]  # and no partial file or pending upload beside it


async def test_keys_are_generated_not_derived_from_content(storage: Storage) -> None:
    first = await save(storage, stream(b"same"), max_bytes=100)
    second = await save(storage, stream(b"same"), max_bytes=100)
    assert first.key != second.key
    assert first.sha256 == second.sha256


async def test_a_file_past_the_cap_stops_the_reading_and_leaves_nothing(storage: Storage, raw: Raw) -> None:
    consumed: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        for index in range(1000):
            consumed.append(index)
            yield b"x" * MiB

    # Past a part (5 MiB here): the S3 backend had begun a multipart upload, which is aborted.
    with pytest.raises(FileTooLarge):
        await save(storage, endless(), max_bytes=6 * MiB)

    assert len(consumed) == 7  # the chunk that crossed the limit was the last one read
    assert await raw.held() == []


async def test_abort_drops_what_was_written_and_may_be_repeated(storage: Storage, raw: Raw) -> None:
    writer = await storage.writer(max_bytes=100)
    await writer.write(b"partial")
    await writer.abort()
    await writer.abort()
    assert await raw.held() == []


async def test_a_working_storage_passes_its_readiness_check(storage: Storage) -> None:
    await storage.check()


async def test_a_local_storage_whose_directory_is_gone_fails_its_check(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "files")
    shutil.rmtree(tmp_path / "files")
    with pytest.raises(FileNotFoundError):
        await storage.check()


async def test_an_s3_storage_without_its_bucket_fails_its_check(s3: S3) -> None:
    storage = S3Storage(StorageSettings.model_validate(s3.settings(f"missing-{uuid4().hex[:12]}")))
    with pytest.raises(Exception, match="(?i)bucket"):
        await storage.check()


async def test_delete_is_idempotent(storage: Storage, raw: Raw) -> None:
    stored = await save(storage, stream(b"bye"), max_bytes=100)
    await storage.delete(stored.key)
    await storage.delete(stored.key)
    assert await raw.held() == []
    with pytest.raises(FileNotFoundError):
        await storage.info(stored.key)


async def test_stale_lists_the_storages_own_files_written_before_the_cutoff(storage: Storage, raw: Raw) -> None:
    stored = await save(storage, stream(b"old enough?"), max_bytes=100)
    await raw.put("aa/bb/notes.txt", b"not a key of the storage's making: never swept")

    assert await storage.stale(timedelta(hours=1)) == []
    # A cutoff in the future: every file was written before it.
    assert await storage.stale(timedelta(seconds=-60)) == [stored.key]


async def test_reads_stream_in_chunks_and_take_byte_ranges(storage: Storage) -> None:
    body = bytes(range(256)) * 1024
    stored = await save(storage, stream(body), max_bytes=len(body))

    chunks = [chunk async for chunk in storage.read(stored.key)]
    assert len(chunks) > 1
    assert b"".join(chunks) == body
    assert await read_all(storage, stored.key, start=1000, end=1010) == body[1000:1010]
    assert await read_all(storage, stored.key, start=len(body) - 5) == body[-5:]
    assert await read_all(storage, stored.key, start=7, end=7) == b""


async def test_a_local_copy_holds_the_bytes_while_it_lasts(storage: Storage) -> None:
    body = b"%PDF-1.7 " + os.urandom(100_000)
    stored = await save(storage, stream(body), max_bytes=len(body))
    empty = await save(storage, stream(), max_bytes=100)

    async with storage.local_copy(stored.key) as path:
        assert await anyio.Path(path).read_bytes() == body
    # A copy is gone with its context; a file on this machine's disk is itself, and stays.
    assert await anyio.Path(path).exists() is isinstance(storage, LocalStorage)
    async with storage.local_copy(stored.key, head=9) as path:
        assert (await anyio.Path(path).read_bytes())[:9] == b"%PDF-1.7 "
    async with storage.local_copy(empty.key, head=8192) as path:
        assert await anyio.Path(path).read_bytes() == b""
    with pytest.raises(FileNotFoundError):
        async with storage.local_copy(new_key()):
            pass


async def test_a_file_of_several_parts_round_trips_byte_for_byte(storage: Storage, raw: Raw) -> None:
    body = os.urandom(12 * MiB)  # three parts of 5 MiB for S3

    stored = await save(storage, stream(*(body[at : at + MiB] for at in range(0, len(body), MiB))), max_bytes=20 * MiB)

    assert stored.sha256 == hashlib.sha256(body).hexdigest()
    assert await read_all(storage, stored.key) == body
    if isinstance(storage, S3Storage):
        assert raw.s3 is not None
        assert raw.bucket is not None
        # A multipart upload's ETag ends with its number of parts.
        assert (await raw.s3.etag(raw.bucket, stored.key)).endswith('-3"')
    assert await raw.held() == [stored.key]


async def test_keys_are_checked(storage: Storage) -> None:
    for key in ("../outside", "/etc/passwd", "ab/../../x"):
        with pytest.raises(ValueError, match="not a storage key"):
            await storage.info(key)
        with pytest.raises(ValueError, match="not a storage key"):
            await storage.delete(key)


async def test_files_are_streamed_through_the_api_unless_presigned_downloads_are_on(storage: Storage) -> None:
    stored = await save(storage, stream(b"x"), max_bytes=100)
    assert await storage.download_url(stored.key) is None
