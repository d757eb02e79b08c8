"""A stored file as an HTTP answer: the same headers and ranges from either backend (a FileResponse from disk, a
stream from the object store), a redirect to a presigned URL when those are on, whose object answers with the same
name and type, and a clear 404 when the file has gone from storage."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from folio.documents.downloads import stored_file
from folio.documents.storage import S3Storage, Storage, save
from folio.error_handlers import install_error_handlers
from folio.observability.logging import configure_logging
from folio.settings import LogSettings
from folio.settings.storage import StorageSettings
from tests.s3 import S3

BODY = bytes(range(256)) * 400
PRIVATE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def serving(storage: Storage) -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/file")
    async def download(request: Request, key: str, name: str = "report.pdf") -> Response:
        return await stored_file(request, storage, key, filename=name, media_type="application/pdf", headers=PRIVATE)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def stored(storage: Storage, body: bytes = BODY, **attributes: str) -> str:
    async def chunks() -> AsyncIterator[bytes]:
        yield body

    return (await save(storage, chunks(), max_bytes=len(body), **attributes)).key


@pytest.fixture
async def key(storage: Storage) -> str:
    return await stored(storage)


async def fetch(storage: Storage, key: str, *, name: str = "report.pdf", **headers: str) -> httpx.Response:
    async with serving(storage) as client:
        return await client.get("/file", params={"key": key, "name": name}, headers=headers)


async def test_the_whole_file_comes_with_its_headers(storage: Storage, key: str) -> None:
    response = await fetch(storage, key)

    assert response.status_code == 200
    assert response.content == BODY
    assert response.headers["content-length"] == str(len(BODY))
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="report.pdf"'
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["last-modified"].endswith(" GMT")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_name_beyond_ascii_is_sent_as_utf8(storage: Storage, key: str) -> None:
    response = await fetch(storage, key, name="Überblick 2026.pdf")
    assert response.headers["content-disposition"] == "attachment; filename*=utf-8''%C3%9Cberblick%202026.pdf"


@pytest.mark.parametrize(
    ("asked", "start", "end"),
    [
        ("bytes=2-5", 2, 6),
        ("bytes=100-", 100, len(BODY)),
        ("bytes=-3", len(BODY) - 3, len(BODY)),
        ("bytes=0-9999999", 0, len(BODY)),
    ],
)
async def test_a_range_comes_as_206(storage: Storage, key: str, asked: str, start: int, end: int) -> None:
    response = await fetch(storage, key, range=asked)

    assert response.status_code == 206
    assert response.content == BODY[start:end]
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{len(BODY)}"
    assert response.headers["content-length"] == str(end - start)


async def test_a_range_past_the_end_is_not_satisfiable(storage: Storage, key: str) -> None:
    response = await fetch(storage, key, range=f"bytes={len(BODY)}-")
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(BODY)}"


async def test_a_range_with_an_endless_number_is_no_server_error(storage: Storage, key: str) -> None:
    response = await fetch(storage, key, range=f"bytes={'9' * 5000}-")
    assert response.status_code < 500


async def test_a_range_of_a_changed_file_gets_the_whole_new_file(storage: Storage, key: str) -> None:
    response = await fetch(storage, key, range="bytes=2-5", **{"if-range": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert response.status_code == 200
    assert response.content == BODY

    modified = (await fetch(storage, key)).headers["last-modified"]
    assert (await fetch(storage, key, range="bytes=2-5", **{"if-range": modified})).status_code == 206


@pytest.mark.parametrize("asked", ["bytes=0-1,5-6", "bytes=5-2", "lines=1-2"])
async def test_an_object_store_answers_several_or_malformed_ranges_with_the_whole_file(
    s3: S3, bucket: str, asked: str
) -> None:
    storage = S3Storage(StorageSettings.model_validate(s3.settings(bucket)))
    response = await fetch(storage, await stored(storage), range=asked)
    assert response.status_code == 200
    assert response.content == BODY


async def test_presigned_downloads_redirect_to_the_store(s3: S3, bucket: str) -> None:
    storage = S3Storage(StorageSettings.model_validate(s3.settings(bucket, presigned_downloads=True)))

    response = await fetch(storage, await stored(storage))

    assert response.status_code == 307
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    async with httpx.AsyncClient() as client:
        assert (await client.get(response.headers["location"])).content == BODY


@pytest.mark.parametrize("size", [len(BODY), 6 * 1024 * 1024], ids=["one PUT", "multipart upload"])
async def test_a_presigned_download_is_named_and_typed_as_a_streamed_one(s3: S3, bucket: str, size: int) -> None:
    name = "Überblick 2026.pdf"
    streaming = S3Storage(StorageSettings.model_validate(s3.settings(bucket)))
    presigning = S3Storage(StorageSettings.model_validate(s3.settings(bucket, presigned_downloads=True)))
    key = await stored(streaming, BODY * (size // len(BODY)), filename=name, media_type="application/pdf")

    redirected = await fetch(presigning, key, name=name)
    async with httpx.AsyncClient() as client:
        direct = await client.get(redirected.headers["location"])
    streamed = await fetch(streaming, key, name=name)

    assert direct.status_code == 200
    assert direct.headers["content-disposition"] == "attachment; filename*=utf-8''%C3%9Cberblick%202026.pdf"
    assert direct.headers["content-disposition"] == streamed.headers["content-disposition"]
    assert direct.headers["content-type"] == streamed.headers["content-type"] == "application/pdf"


async def test_a_file_gone_from_storage_answers_404_file_missing(
    storage: Storage, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    # As the apps of the tests log: through the standard library (where caplog sees the lines), warnings and up.
    configure_logging(LogSettings(level="WARNING"))
    caplog.set_level(logging.WARNING, logger="folio.documents.downloads")
    await storage.delete(key)  # behind the API's back: whatever names the file still does

    response = await fetch(storage, key)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "FILE_MISSING"
    logged = [record.msg for record in caplog.records if isinstance(record.msg, dict)]
    assert [(line["event"], line["level"], line["key"]) for line in logged] == [("stored_file_missing", "warning", key)]
