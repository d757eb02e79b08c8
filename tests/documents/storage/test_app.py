"""The app with its files in S3 (a moto server): uploads land in the bucket, ingestion and record imports read them
from there, and documents and exports are downloaded from there, streamed or through a presigned URL (named and
typed alike), or answered with FILE_MISSING when the object has gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from folio.documents.storage import S3Storage
from folio.settings.storage import StorageSettings
from tests.apps import serve
from tests.connections import lent_to_requests
from tests.documents.test_router import DOCS, MARKDOWN, storage_key, upload, wait_ready
from tests.factories import Account, error_of, register
from tests.ingestion.fixtures import Heading, docx_bytes
from tests.records.conftest import all_records, csv_bytes, import_batch
from tests.s3 import S3


class OnS3:
    def __init__(self, app: FastAPI, client: httpx.AsyncClient, s3: S3, bucket: str) -> None:
        self.app, self.client, self.s3, self.bucket = app, client, s3, bucket


@pytest.fixture(scope="module")
async def on_s3(separate_database_url: str, s3: S3) -> AsyncIterator[OnS3]:
    """One app for the module, on a database the session app's job runner does not see (it stores locally)."""
    bucket = s3.new_bucket()
    async with serve(separate_database_url, storage=s3.settings(bucket)) as (app, client):
        assert isinstance(app.state.storage, S3Storage)
        yield OnS3(app, client, s3, bucket)


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's app has a database of its own; each test registers organizations of its own."""


@asynccontextmanager
async def presigning(on_s3: OnS3) -> AsyncIterator[None]:
    """The app answers downloads with redirects to presigned URLs while the context lasts."""
    streaming = on_s3.app.state.storage
    on_s3.app.state.storage = S3Storage(
        StorageSettings.model_validate(on_s3.s3.settings(on_s3.bucket, presigned_downloads=True))
    )
    try:
        yield
    finally:
        on_s3.app.state.storage = streaming


async def from_the_store(redirected: httpx.Response) -> httpx.Response:
    assert redirected.status_code == 307, redirected.text
    async with httpx.AsyncClient() as store:
        return await store.get(redirected.headers["location"])


async def test_readiness_lists_the_bucket(on_s3: OnS3) -> None:
    response = await on_s3.client.get("/health/ready")
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["storage"] == {"status": "ok", "detail": None}


async def test_readiness_fails_while_the_bucket_is_unreachable(separate_database_url: str, s3: S3) -> None:
    gone = {**s3.settings("folio-gone"), "endpoint_url": "http://127.0.0.1:1"}
    async with serve(separate_database_url, storage=gone) as (_, client):
        response = await client.get("/health/ready")
    assert response.status_code == 503, response.text
    assert response.json()["checks"]["storage"]["status"] == "failing"


async def ready(on_s3: OnS3, account: Account, name: str, content: bytes) -> dict[str, Any]:
    item = await upload(on_s3.client, account, name=name, content=content)
    document = await wait_ready(on_s3.client, account, str(item["document"]["id"]))
    assert document["status"] == "ready", document
    return document


async def test_a_document_goes_to_the_bucket_is_ingested_from_it_and_downloaded(on_s3: OnS3) -> None:
    client = on_s3.client
    account = await register(client)
    content = MARKDOWN + f"\n\n{uuid4()}".encode()
    document = await ready(on_s3, account, "rivers.md", content)
    key = await storage_key(on_s3.app, str(document["id"]))
    assert key in await on_s3.s3.keys(on_s3.bucket)
    file = f"{DOCS}/{document['id']}/file"

    streamed = await client.get(file, headers=account.headers)
    assert streamed.status_code == 200
    assert streamed.content == content
    assert streamed.headers["content-length"] == str(len(content))
    assert streamed.headers["content-disposition"] == 'attachment; filename="rivers.md"'
    assert streamed.headers["content-type"].startswith("text/markdown")
    ranged = await client.get(file, headers={**account.headers, "Range": "bytes=2-7"})
    assert (ranged.status_code, ranged.content) == (206, content[2:8])

    async with presigning(on_s3):
        direct = await from_the_store(await client.get(file, headers=account.headers))
    assert direct.content == content
    assert direct.headers["content-disposition"] == streamed.headers["content-disposition"]
    # The type the file was stored with; the API's answer adds the charset Starlette puts on every text type.
    assert direct.headers["content-type"] == "text/markdown"

    assert (await client.delete(f"{DOCS}/{document['id']}", headers=account.headers)).status_code == 204
    assert key not in await on_s3.s3.keys(on_s3.bucket)


async def test_a_docx_is_recognised_by_its_zip_directory_at_the_end_of_the_object(on_s3: OnS3) -> None:
    account = await register(on_s3.client)
    # The zip directory lies past the first bytes that the other kinds are judged by.
    content = docx_bytes([Heading(1, "Tides"), "The harbour logs record every tide since 1820."])
    assert len(content) > 16 * 1024

    document = await ready(on_s3, account, "tides.docx", content)

    assert document["kind"] == "docx"
    text = (await on_s3.client.get(f"{DOCS}/{document['id']}/content", headers=account.headers)).json()["text"]
    assert "harbour logs" in text


async def test_a_record_batch_is_imported_from_the_bucket(on_s3: OnS3) -> None:
    account = await register(on_s3.client)
    content = csv_bytes("id,text", "c1,The pump failed twice", "c2,Invoice sent late")

    batch = await import_batch(on_s3.client, account, content, {"text": "text", "external_id": "id"}, enrich="false")

    assert batch["rows_created"] == 2
    records = await all_records(on_s3.client, account.headers)
    assert sorted(record["text"] for record in records) == ["Invoice sent late", "The pump failed twice"]


async def test_an_export_is_written_to_the_bucket_and_downloaded_from_it(on_s3: OnS3) -> None:
    client = on_s3.client
    account = await register(client)
    await ready(on_s3, account, "rivers.md", MARKDOWN)

    asked = await client.post("/api/v1/exports", json={"source": "documents", "format": "csv"}, headers=account.headers)
    assert asked.status_code == 202, asked.text
    export = await _finished_export(client, account, str(asked.json()["id"]))

    by_api = await client.get(f"/api/v1/exports/{export['id']}/file", headers=account.headers)
    assert by_api.status_code == 200, by_api.text
    assert by_api.content.count(b"\n") == 2  # the header and the document
    assert b"rivers.md" in by_api.content
    assert by_api.headers["content-disposition"] == f'attachment; filename="{export["filename"]}"'
    assert by_api.headers["cache-control"] == "no-store"
    by_link = await client.get(str(export["download_url"]).removeprefix("http://testserver"))
    assert (by_link.status_code, by_link.content) == (200, by_api.content)
    async with presigning(on_s3):
        direct = await from_the_store(await client.get(f"/api/v1/exports/{export['id']}/file", headers=account.headers))
    assert direct.content == by_api.content
    assert direct.headers["content-disposition"] == by_api.headers["content-disposition"]
    assert direct.headers["content-type"] == by_api.headers["content-type"] == "text/csv; charset=utf-8"


async def test_a_document_whose_object_has_gone_answers_file_missing(on_s3: OnS3) -> None:
    account = await register(on_s3.client)
    document = await ready(on_s3, account, "gone.md", MARKDOWN + f"\n\n{uuid4()}".encode())
    await on_s3.app.state.storage.delete(await storage_key(on_s3.app, str(document["id"])))

    response = await on_s3.client.get(f"{DOCS}/{document['id']}/file", headers=account.headers)

    error_of(response, 404, "FILE_MISSING")
    kept = await on_s3.client.get(f"{DOCS}/{document['id']}", headers=account.headers)
    assert kept.status_code == 200


async def test_a_download_holds_no_connection_while_the_object_store_answers(
    on_s3: OnS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await register(on_s3.client)
    document = await ready(on_s3, account, "held.md", MARKDOWN + f"\n\n{uuid4()}".encode())
    storage = on_s3.app.state.storage
    info, held = storage.info, []

    with lent_to_requests(on_s3.app) as lent:

        async def counted(key: str) -> Any:
            held.append(lent.to_this_request())
            return await info(key)

        monkeypatch.setattr(storage, "info", counted)
        response = await on_s3.client.get(f"{DOCS}/{document['id']}/file", headers=account.headers)

    assert response.status_code == 200
    assert held == [0]


async def _finished_export(client: httpx.AsyncClient, account: Account, export_id: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            export: dict[str, Any] = (await client.get(f"/api/v1/exports/{export_id}", headers=account.headers)).json()
            if export["status"] not in {"queued", "running"}:
                assert export["status"] == "ready", export
                return export
            await asyncio.sleep(0.05)
