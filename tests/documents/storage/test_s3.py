"""What only the S3 backend does: multipart uploads (aborted with the writer, in bounded memory), prefixes within a
bucket, presigned URLs (whose objects answer with the name and type they were written with), and being the one
`FOLIO_STORAGE__BACKEND=s3` picks."""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from folio.documents import web
from folio.documents.storage import LocalStorage, S3Storage, save, storage_for
from folio.documents.storage import s3 as s3_module
from folio.outbound import OutboundPolicy
from folio.settings import OutboundSettings
from folio.settings.storage import StorageSettings
from tests.conftest import make_settings
from tests.documents.test_import_url import site_routes
from tests.live_server import serve_in_thread
from tests.s3 import S3

MiB = 1024 * 1024


def s3_storage(s3: S3, bucket: str, **overrides: Any) -> S3Storage:
    return S3Storage(StorageSettings.model_validate(s3.settings(bucket, **overrides)))


async def test_aborting_a_writer_aborts_its_multipart_upload(s3: S3, bucket: str) -> None:
    writer = await s3_storage(s3, bucket).writer(max_bytes=100 * MiB)
    for _ in range(6):
        await writer.write(b"x" * MiB)
    assert len(await s3.pending_uploads(bucket)) == 1  # past one part: the upload has begun

    await writer.abort()

    assert await s3.pending_uploads(bucket) == []
    assert await s3.keys(bucket) == []


async def test_a_large_upload_holds_a_few_parts_in_memory_not_the_file(s3: S3, bucket: str) -> None:
    storage = s3_storage(s3, bucket, part_mb=5)

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(50):
            yield bytes([index]) * MiB  # made as it is sent, like a request body

    tracemalloc.start()
    try:
        stored = await save(storage, chunks(), max_bytes=60 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert stored.size == 50 * MiB
    assert (await storage.info(stored.key)).size == 50 * MiB
    # The parts in flight and the one filling, 5 MiB each, and a chunk: about 16 MiB. The whole file would be 50.
    assert peak < 25 * MiB, f"{peak / MiB:.1f} MiB"


async def test_a_read_may_last_longer_than_any_other_request(
    s3: S3, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client downloading through the API sets the pace of the read: far slower than any other request may take
    (retries included), it still gets the whole file."""
    body = bytes(range(256)) * 16384
    stored = await save(s3_storage(s3, bucket), _one(body), max_bytes=len(body))
    monkeypatch.setattr(s3_module, "REQUESTS", {"timeout": timedelta(milliseconds=100)})
    storage = s3_storage(s3, bucket)

    received = b""
    async for chunk in storage.read(stored.key):
        received += chunk
        await asyncio.sleep(0.1)  # chunks of 64 to 512 KiB: 1.5 s or more in all

    assert received == body


async def test_a_prefix_keeps_a_storages_objects_apart_in_a_shared_bucket(s3: S3, bucket: str) -> None:
    first = s3_storage(s3, bucket, prefix="folio/a/")
    second = s3_storage(s3, bucket, prefix="folio/b")
    stored = await save(first, _one(b"mine"), max_bytes=100)

    assert await s3.keys(bucket) == [f"folio/a/{stored.key}"]
    assert await first.stale(timedelta(seconds=-60)) == [stored.key]
    assert await second.stale(timedelta(seconds=-60)) == []


async def test_a_presigned_url_fetches_the_object_until_it_expires(s3: S3, bucket: str) -> None:
    storage = s3_storage(s3, bucket, presigned_downloads=True, presign_seconds=120)
    stored = await save(storage, _one(b"straight from the store"), max_bytes=100)

    url = await storage.download_url(stored.key)

    assert url is not None
    assert "X-Amz-Expires=120" in url
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).content == b"straight from the store"


async def test_an_imported_page_is_stored_with_its_name_and_type(s3: S3, bucket: str) -> None:
    storage = s3_storage(s3, bucket, presigned_downloads=True)
    policy = OutboundPolicy.from_settings(OutboundSettings(allow_private=True, allow_hosts=["127.0.0.1"]))
    with serve_in_thread(Starlette(routes=site_routes()), lifespan="off") as site:
        fetched = await web.fetch(f"{site}/handbook/leave.html", policy=policy, storage=storage, max_bytes=MiB)

    url = await storage.download_url(fetched.stored.key)
    assert url is not None
    async with httpx.AsyncClient() as client:
        direct = await client.get(url)
    assert direct.headers["content-disposition"] == 'attachment; filename="leave.html"'
    assert direct.headers["content-type"] == "text/html"


def test_the_backend_setting_picks_the_storage(s3: S3, tmp_path: Path) -> None:
    unused = "postgresql+asyncpg://unused/db"
    assert isinstance(storage_for(make_settings(unused, data_dir=str(tmp_path))), LocalStorage)
    assert isinstance(storage_for(make_settings(unused, storage=s3.settings("some-bucket"))), S3Storage)


def test_a_store_needs_a_bucket() -> None:
    with pytest.raises(ValueError, match="needs a bucket"):
        S3Storage(StorageSettings())


async def _one(body: bytes) -> AsyncIterator[bytes]:
    yield body
