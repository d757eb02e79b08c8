"""Documents after upload: listing with filters, editing, deleting, content, file, chunks, reindex, tenancy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from folio.auth.principal import Principal
from folio.documents.repository import DocumentRepository
from folio.models import Chunk, Document, DocumentStatus, Job, JobStatus
from folio.pagination import PageRequest
from tests.conftest import AppFactory
from tests.factories import Account, add_member, create_api_key, error_of, register, wait_until_finished
from tests.ingestion.fixtures import write_pdf

DOCS = "/api/v1/documents"
MARKDOWN = (
    b"# Rivers\n\nThe river towns of the valley kept ledgers of every flood.\n\n## Bridges\n\nStone bridges came later."
)


async def upload(
    client: httpx.AsyncClient, account: Account, name: str = "rivers.md", content: bytes = MARKDOWN, **data: str
) -> dict[str, Any]:
    response = await client.post(
        DOCS, files=[("files", (name, content, "text/markdown"))], data=data, headers=account.headers
    )
    assert response.status_code == 202, response.text
    item: dict[str, Any] = response.json()["items"][0]
    return item


async def wait_ready(client: httpx.AsyncClient, account: Account, document_id: str) -> dict[str, Any]:
    async with asyncio.timeout(60):
        while True:
            document: dict[str, Any] = (await client.get(f"{DOCS}/{document_id}", headers=account.headers)).json()
            if document["status"] in {"ready", "failed"}:
                return document
            await asyncio.sleep(0.05)


async def ready_document(client: httpx.AsyncClient, account: Account, **data: str) -> dict[str, Any]:
    item = await upload(client, account, content=MARKDOWN + f"\n\n{uuid4()}".encode(), **data)
    document = await wait_ready(client, account, item["document"]["id"])
    assert document["status"] == "ready", document
    return document


async def test_list_filters_by_status_type_tag_title_and_date(client: httpx.AsyncClient) -> None:
    account = await register(client)
    first = await ready_document(client, account, tags="legal,2026", title="Flood ledgers")
    second = await upload(client, account, name="notes.txt", content=b"plain notes", tags="legal")
    second_id = second["document"]["id"]
    await wait_ready(client, account, second_id)

    async def ids(**params: Any) -> list[str]:
        response = await client.get(DOCS, params=params, headers=account.headers)
        assert response.status_code == 200, response.text
        return [document["id"] for document in response.json()["items"]]

    assert await ids() == [first["id"], second_id]
    assert await ids(type="text") == [second_id]
    assert await ids(tag="legal") == [first["id"], second_id]
    assert await ids(tag=["legal", "2026"]) == [first["id"]]
    assert await ids(q="LEDGER") == [first["id"]]
    assert await ids(q="%") == []  # wildcards are literal
    assert await ids(status="failed") == []
    assert await ids(created_after=first["created_at"]) == [first["id"], second_id]
    assert await ids(created_before=first["created_at"]) == []
    assert await ids(limit=1) == [first["id"]]
    error_of(await client.get(DOCS, params={"type": "exe"}, headers=account.headers), 422, "VALIDATION_ERROR")


async def test_patch_changes_title_tags_and_metadata(client: httpx.AsyncClient) -> None:
    account = await register(client)
    document = await ready_document(client, account)

    response = await client.patch(
        f"{DOCS}/{document['id']}",
        json={"title": "Renamed", "tags": ["a", " a ", "b"], "metadata": {"client": "Acme"}},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Renamed"
    assert response.json()["tags"] == ["a", "b"]
    assert response.json()["metadata"] == {"client": "Acme"}

    too_big = {"metadata": {"blob": "x" * 20_000}}
    error_of(
        await client.patch(f"{DOCS}/{document['id']}", json=too_big, headers=account.headers), 422, "VALIDATION_ERROR"
    )
    error_of(
        await client.patch(f"{DOCS}/{uuid4()}", json={"title": "x"}, headers=account.headers), 404, "DOCUMENT_NOT_FOUND"
    )


async def test_content_file_and_chunks(client: httpx.AsyncClient) -> None:
    account = await register(client)
    document = await ready_document(client, account)

    content = (await client.get(f"{DOCS}/{document['id']}/content", headers=account.headers)).json()
    assert content["text"].startswith("# Rivers")
    assert content["pages"] == [{"number": 1, "start": 0, "end": len(content["text"])}]
    assert content["version"] == 1

    downloaded = await client.get(f"{DOCS}/{document['id']}/file", headers=account.headers)
    assert downloaded.status_code == 200
    assert downloaded.content.startswith(MARKDOWN)
    assert downloaded.headers["content-type"].startswith("text/markdown")
    assert downloaded.headers["content-disposition"] == 'attachment; filename="rivers.md"'
    assert downloaded.headers["x-content-type-options"] == "nosniff"

    chunks = (await client.get(f"{DOCS}/{document['id']}/chunks", headers=account.headers)).json()["items"]
    assert len(chunks) == document["chunk_count"]
    for chunk in chunks:
        assert content["text"][chunk["start_char"] : chunk["end_char"]] == chunk["text"]
        assert chunk["page_start"] == chunk["page_end"] == 1


async def test_a_failed_document_has_no_content_and_keeps_its_error(client: httpx.AsyncClient, tmp_path: Path) -> None:
    account = await register(client)
    encrypted = write_pdf(tmp_path / "locked.pdf", [["secret"]], password="hunter2")
    response = await client.post(
        DOCS, files=[("files", ("locked.pdf", encrypted.read_bytes(), "application/pdf"))], headers=account.headers
    )
    document = await wait_ready(client, account, response.json()["items"][0]["document"]["id"])

    assert document["status"] == "failed"
    assert document["error_code"] == "PDF_ENCRYPTED"
    content = await client.get(f"{DOCS}/{document['id']}/content", headers=account.headers)
    assert error_of(content, 409, "DOCUMENT_NOT_READY")["details"] == {"status": "failed"}
    assert (await client.get(f"{DOCS}/{document['id']}/chunks", headers=account.headers)).json()["items"] == []


async def test_delete_removes_file_chunks_and_jobs_and_is_idempotent(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register(client)
    document = await ready_document(client, account)
    stored = app.state.storage.local_path(await storage_key(app, document["id"]))
    assert stored.exists()

    assert (await client.delete(f"{DOCS}/{document['id']}", headers=account.headers)).status_code == 204
    assert not stored.exists()
    error_of(await client.get(f"{DOCS}/{document['id']}", headers=account.headers), 404, "DOCUMENT_NOT_FOUND")
    async with app.state.sessionmaker() as session:
        left = await session.scalar(select(func.count()).where(Chunk.document_id == UUID(document["id"])))
    assert left == 0
    assert (await client.delete(f"{DOCS}/{document['id']}", headers=account.headers)).status_code == 204


async def test_delete_cancels_a_queued_ingestion(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register(client)
    item = await upload(client, account, content=MARKDOWN + b"\n\nqueued")
    await client.delete(f"{DOCS}/{item['document']['id']}", headers=account.headers)
    async with app.state.sessionmaker() as session:
        job = await session.get(Job, UUID(item["job_id"]))
    assert job is not None
    assert job.cancel_requested
    assert job.status in {JobStatus.CANCELLED, JobStatus.RUNNING, JobStatus.SUCCEEDED}


async def test_reindex_swaps_to_a_new_version_and_keeps_the_old_until_then(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    document = await ready_document(client, account)
    before = (await client.get(f"{DOCS}/{document['id']}/chunks", headers=account.headers)).json()["items"]

    response = await client.post(f"{DOCS}/{document['id']}/reindex", headers=account.headers)
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    seen_during: list[list[str]] = []
    async with asyncio.timeout(60):
        while True:
            job = (await client.get(f"/api/v1/jobs/{job_id}", headers=account.headers)).json()
            chunks = (await client.get(f"{DOCS}/{document['id']}/chunks", headers=account.headers)).json()["items"]
            seen_during.append([chunk["text"] for chunk in chunks])
            if job["status"] in {"succeeded", "failed"}:
                break
            await asyncio.sleep(0.02)
    assert job["status"] == "succeeded"
    # Every look during the reindex saw a complete version: the old chunks or the new, never a mix or nothing.
    texts = [chunk["text"] for chunk in before]
    assert all(seen == texts for seen in seen_during)

    after = (await client.get(f"{DOCS}/{document['id']}", headers=account.headers)).json()
    assert after["version"] == 2
    assert after["status"] == "ready"
    new_chunks = (await client.get(f"{DOCS}/{document['id']}/chunks", headers=account.headers)).json()["items"]
    assert {chunk["id"] for chunk in new_chunks}.isdisjoint({chunk["id"] for chunk in before})
    async with app.state.sessionmaker() as session:
        versions = (
            await session.scalars(select(Chunk.version).where(Chunk.document_id == UUID(document["id"])).distinct())
        ).all()
    assert list(versions) == [2]


async def test_chunks_listed_while_a_reindex_publishes_are_the_new_version_not_none(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    document = await ready_document(client, account)
    document_id = UUID(document["id"])
    count = len((await client.get(f"{DOCS}/{document_id}/chunks", headers=account.headers)).json()["items"])
    principal = Principal(org_id=account.org_id, scopes=frozenset())
    async with app.state.sessionmaker() as reading:
        # The listing reads the document (version 1) first, as the route does...
        held = await DocumentRepository(reading).get(principal, document_id)
        assert held is not None
        # ...then a reindex publishes version 2 and drops version 1's chunks, committed in between.
        async with app.state.sessionmaker() as publishing, publishing.begin():
            await publishing.execute(update(Chunk).where(Chunk.document_id == document_id).values(version=2))
            await publishing.execute(update(Document).where(Document.id == document_id).values(version=2))
        listed = await DocumentRepository(reading).page_chunks(principal, held, PageRequest(limit=100))
    assert [chunk.version for chunk in listed.items] == [2] * count


async def test_other_orgs_and_roles(client: httpx.AsyncClient) -> None:
    owner = await register(client)
    other = await register(client)
    viewer = await register(client)
    await add_member(client, owner, viewer, "viewer")
    document = await ready_document(client, owner)
    paths = ["", "/content", "/file", "/chunks"]

    for path in paths:
        error_of(await client.get(f"{DOCS}/{document['id']}{path}", headers=other.headers), 404, "DOCUMENT_NOT_FOUND")
        assert (
            await client.get(f"{DOCS}/{document['id']}{path}", headers=viewer.in_org(owner.org_id))
        ).status_code == 200
    assert (await client.get(DOCS, headers=other.headers)).json()["items"] == []
    error_of(await client.post(f"{DOCS}/{document['id']}/reindex", headers=other.headers), 404, "DOCUMENT_NOT_FOUND")
    error_of(
        await client.patch(f"{DOCS}/{document['id']}", json={"title": "x"}, headers=other.headers),
        404,
        "DOCUMENT_NOT_FOUND",
    )
    assert (await client.delete(f"{DOCS}/{document['id']}", headers=other.headers)).status_code == 204
    assert (await client.get(f"{DOCS}/{document['id']}", headers=owner.headers)).status_code == 200  # untouched

    as_viewer = viewer.in_org(owner.org_id)
    error_of(await client.patch(f"{DOCS}/{document['id']}", json={"title": "x"}, headers=as_viewer), 403, "FORBIDDEN")
    error_of(await client.delete(f"{DOCS}/{document['id']}", headers=as_viewer), 403, "FORBIDDEN")
    error_of(await client.post(f"{DOCS}/{document['id']}/reindex", headers=as_viewer), 403, "FORBIDDEN")
    reader_key = await create_api_key(client, owner, scopes=["documents:read"])
    listed = await client.get(DOCS, headers={"X-API-Key": reader_key["secret"]})
    assert [item["id"] for item in listed.json()["items"]] == [document["id"]]


async def storage_key(app: FastAPI, document_id: str) -> str:
    async with app.state.sessionmaker() as session:
        document = await session.get(Document, UUID(document_id))
    assert document is not None
    key: str = document.storage_key
    return key


async def test_a_document_whose_worker_kept_dying_ends_failed(app: FastAPI, client: httpx.AsyncClient) -> None:
    """What a worker killed on every attempt leaves behind: a running job with an expired lease and no tries left."""
    account = await register(client)
    document = await ready_document(client, account)
    async with app.state.sessionmaker() as session:
        job_id = await session.scalar(select(Job.id).where(Job.subject_id == UUID(document["id"])))
    await wait_until_finished(client, account, job_id)  # the document is ready a moment before its job is done
    async with app.state.sessionmaker() as session, session.begin():
        job = await session.get(Job, job_id)
        assert job is not None
        job.status, job.attempts, job.max_attempts = JobStatus.RUNNING, 3, 3
        job.lease_expires_at = datetime.now(UTC) - timedelta(seconds=5)
        row = await session.get(Document, UUID(document["id"]))
        assert row is not None
        row.status = DocumentStatus.PROCESSING

    await app.state.job_queue.reap()

    after = (await client.get(f"{DOCS}/{document['id']}", headers=account.headers)).json()
    assert after["status"] == "failed"
    assert after["error_code"] == "WORKER_LOST"
    lost = (await client.get(f"/api/v1/jobs/{job.id}", headers=account.headers)).json()
    assert lost["error_code"] == "WORKER_LOST"


async def test_uploads_are_capped_by_the_upload_limit_not_the_json_body_limit(app_factory: AppFactory) -> None:
    async with app_factory(http={"max_body_kb": 64}) as client:
        account = await register(client)
        big = b"river towns and their ledgers " * 10_000  # ~300 KB: over the JSON limit, under the upload limit
        response = await client.post(DOCS, files=[("files", ("big.txt", big, "text/plain"))], headers=account.headers)
        assert response.status_code == 202, response.text
        await client.post(f"/api/v1/jobs/{response.json()['items'][0]['job_id']}/cancel", headers=account.headers)
        too_big_json = await client.post(
            "/api/v1/orgs", content=b'{"name": "' + b"x" * 70_000 + b'"}', headers=account.headers
        )
        error_of(too_big_json, 413, "PAYLOAD_TOO_LARGE")
