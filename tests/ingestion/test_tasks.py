"""The `ingest_document` job end to end: upload, extraction, chunking, real MiniLM embeddings, versioned chunks."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from taskiq import InMemoryBroker

from folio.auth.principal import Principal
from folio.db import create_sessionmaker
from folio.embeddings.provider import EmbeddingProvider, Embeddings
from folio.ingestion.tasks import Ingestion
from folio.jobs import service as jobs
from folio.jobs.kinds import INGEST_DOCUMENT
from folio.jobs.repository import JobRepository
from folio.jobs.runner import JobRunner
from folio.main import create_app
from folio.models import Chunk, DocumentContent, Job, Role, SearchCorpus, SearchTerm
from folio.models.chunk import EMBEDDING_DIMENSION
from tests.conftest import make_settings
from tests.factories import Account, error_of, register, wait_until_finished
from tests.ingestion.fixtures import Heading, docx_bytes, write_html_page, write_image_only_pdf, write_pdf

DOCS = "/api/v1/documents"
JOBS = "/api/v1/jobs"
PDF_PAGES = [
    ["Alpha apple avocado", "second line of the first page"],
    ["Bravo banana blueberry", "second line of the second page"],
    ["Charlie cherry coconut", "second line of the third page"],
]


@pytest.fixture(scope="module")
async def ingest_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FastAPI]:
    """The real ingestion handler and model, on a data directory of its own (one model load for the module)."""
    settings = make_settings(database_url, data_dir=tmp_path_factory.mktemp("ingestion-data"))
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application
        broker = application.state.job_queue.broker
        assert isinstance(broker, InMemoryBroker)
        async with asyncio.timeout(60):  # stopping does not wait for jobs still running in-process
            while broker._running_tasks:
                await asyncio.gather(*broker._running_tasks, return_exceptions=True)


@pytest.fixture
async def http(ingest_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ingest_app), base_url="http://testserver") as client:
        yield client


async def upload(http: httpx.AsyncClient, account: Account, name: str, content: bytes) -> tuple[UUID, UUID]:
    """The new document's id and its ingestion job's id."""
    response = await http.post(
        DOCS, files=[("files", (name, content, "application/octet-stream"))], headers=account.headers
    )
    assert response.status_code == 202, response.text
    [item] = response.json()["items"]
    assert item["deduplicated"] is False
    return UUID(item["document"]["id"]), UUID(item["job_id"])


async def get_document(http: httpx.AsyncClient, account: Account, document_id: UUID) -> dict[str, Any]:
    response = await http.get(f"{DOCS}/{document_id}", headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored_chunks(app: FastAPI, document_id: UUID) -> list[Chunk]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(select(Chunk).where(Chunk.document_id == document_id).order_by(Chunk.ordinal))
        return list(rows)


async def stored_content(app: FastAPI, document_id: UUID) -> DocumentContent | None:
    async with app.state.sessionmaker() as session:
        content: DocumentContent | None = await session.get(DocumentContent, document_id)
        return content


async def assert_ingested(app: FastAPI, document: dict[str, Any]) -> tuple[DocumentContent, list[Chunk]]:
    """The document is ready and its stored chunks are consistent with its stored text; both are returned."""
    document_id = UUID(document["id"])
    assert document["status"] == "ready"
    assert document["error_code"] is None
    assert document["error_message"] is None
    assert document["processed_at"] is not None
    content = await stored_content(app, document_id)
    assert content is not None
    assert content.version == document["version"]
    assert document["char_count"] == len(content.text)
    assert document["page_count"] == len(content.pages)
    chunks = await stored_chunks(app, document_id)
    assert document["chunk_count"] >= 1
    assert len(chunks) == document["chunk_count"]
    assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.version == document["version"]
        assert chunk.org_id == content.org_id
        assert 0 <= chunk.start_char < chunk.end_char <= len(content.text)
        assert chunk.text == content.text[chunk.start_char : chunk.end_char]
        assert 1 <= chunk.page_start <= chunk.page_end <= document["page_count"]
        assert chunk.token_count >= 1
        vector = [float(value) for value in chunk.embedding]
        assert len(vector) == EMBEDDING_DIMENSION
        assert math.isclose(math.sqrt(sum(value * value for value in vector)), 1.0, abs_tol=1e-3)
    assert chunks[0].page_start == 1
    assert chunks[-1].page_end == document["page_count"]
    return content, chunks


async def test_a_pdf_is_extracted_chunked_and_embedded(
    ingest_app: FastAPI, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    account = await register(http)
    pdf = write_pdf(tmp_path / "fruit.pdf", PDF_PAGES, title="Fruit Survey").read_bytes()

    document_id, job_id = await upload(http, account, "fruit.pdf", pdf)
    job = await wait_until_finished(http, account, job_id, seconds=90)

    assert job["status"] == "succeeded", job
    assert job["progress"] == 100
    assert job["stage"] == "done"
    assert job["attempts"] == 1
    assert job["error_code"] is None
    assert job["subject_id"] == str(document_id)
    document = await get_document(http, account, document_id)
    assert document["kind"] == "pdf"
    assert document["version"] == 1
    assert document["page_count"] == 3
    assert document["title"] == "Fruit Survey"
    assert document["filename"] == "fruit.pdf"
    content, chunks = await assert_ingested(ingest_app, document)
    assert [page[0] for page in content.pages] == [1, 2, 3]
    for number, lines in enumerate(PDF_PAGES, start=1):
        _, start, end = content.pages[number - 1]
        assert lines[0] in content.text[start:end]
        assert any(lines[0] in chunk.text and chunk.page_start <= number <= chunk.page_end for chunk in chunks)


@pytest.mark.parametrize("kind", ["docx", "html", "text"])
async def test_docx_html_and_legacy_text_become_ready(
    ingest_app: FastAPI, http: httpx.AsyncClient, tmp_path: Path, kind: str
) -> None:
    account = await register(http)
    if kind == "docx":
        name = "handbook.docx"
        content = docx_bytes(
            [Heading(1, "Employee handbook"), "Holidays are booked a month ahead.", [["Team", "Lead"], ["Ops", "Ana"]]]
        )
        expected = ["Employee handbook", "Holidays are booked a month ahead.", "Ops | Ana"]
    elif kind == "html":
        name = "guide.html"
        main = "<h1>Release guide</h1><p>Tag the release, then publish the notes.</p>"
        content = write_html_page(tmp_path / name, title="Release guide", main=main).read_bytes()
        expected = ["Release guide", "Tag the release, then publish the notes."]
    else:
        name = "menu.txt"
        content = "Café crème brûlée and a piña colada, served à la carte.\n".encode("latin-1")
        expected = ["Café crème brûlée and a piña colada, served à la carte."]

    document_id, job_id = await upload(http, account, name, content)
    job = await wait_until_finished(http, account, job_id, seconds=90)

    assert job["status"] == "succeeded", job
    document = await get_document(http, account, document_id)
    assert document["kind"] == kind
    assert document["version"] == 1
    assert document["page_count"] == 1
    stored, chunks = await assert_ingested(ingest_app, document)
    for text in expected:
        assert text in stored.text
    assert "ShouldNotAppear" not in stored.text
    assert "ShouldNotAppear" not in " ".join(chunk.text for chunk in chunks)


@pytest.mark.parametrize("code", ["PDF_ENCRYPTED", "NO_TEXT_LAYER"])
async def test_an_unreadable_pdf_fails_for_good_and_fails_again_on_retry(
    ingest_app: FastAPI, http: httpx.AsyncClient, tmp_path: Path, code: str
) -> None:
    account = await register(http)
    path = tmp_path / "unreadable.pdf"
    if code == "PDF_ENCRYPTED":
        write_pdf(path, PDF_PAGES, password="correct horse")
    else:
        write_image_only_pdf(path, page_count=2)
    document_id, job_id = await upload(http, account, "unreadable.pdf", path.read_bytes())

    for _ in range(2):
        job = await wait_until_finished(http, account, job_id, seconds=90)

        assert job["status"] == "failed", job
        assert job["error_code"] == code
        assert job["error_message"]
        assert job["attempts"] == 1
        document = await get_document(http, account, document_id)
        assert document["status"] == "failed"
        assert document["error_code"] == code
        assert document["error_message"]
        assert document["version"] == 0
        assert document["chunk_count"] is None
        assert await stored_chunks(ingest_app, document_id) == []
        assert await stored_content(ingest_app, document_id) is None

        retried = await http.post(f"{JOBS}/{job_id}/retry", headers=account.headers)
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "queued"
        assert retried.json()["attempts"] == 0
        assert retried.json()["error_code"] is None

    await wait_until_finished(http, account, job_id, seconds=90)
    # A failed document does not count for deduplication: the same bytes make a new document.
    again_id, again_job = await upload(http, account, "unreadable.pdf", path.read_bytes())
    assert again_id != document_id
    assert (await wait_until_finished(http, account, again_job, seconds=90))["error_code"] == code


async def test_ingesting_again_replaces_the_chunks_with_a_new_version(
    ingest_app: FastAPI, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    account = await register(http)
    pdf = write_pdf(tmp_path / "fruit.pdf", PDF_PAGES).read_bytes()
    document_id, job_id = await upload(http, account, "fruit.pdf", pdf)
    assert (await wait_until_finished(http, account, job_id, seconds=90))["status"] == "succeeded"
    first = await get_document(http, account, document_id)
    _, first_chunks = await assert_ingested(ingest_app, first)
    assert first["version"] == 1

    retry_after_success = await http.post(f"{JOBS}/{job_id}/retry", headers=account.headers)
    error_of(retry_after_success, 409, "JOB_NOT_RETRYABLE")
    principal = Principal.for_member(org_id=account.org_id, user_id=account.user_id, role=Role.OWNER)
    async with ingest_app.state.sessionmaker() as session, session.begin():
        job = await jobs.enqueue(
            session, principal=principal, kind=INGEST_DOCUMENT, max_attempts=3, subject_id=document_id
        )
    await ingest_app.state.job_queue.dispatch([job.id])
    second_job = await wait_until_finished(http, account, job.id, seconds=90)

    assert second_job["status"] == "succeeded", second_job
    assert second_job["progress"] == 100
    second = await get_document(http, account, document_id)
    assert second["version"] == 2
    assert second["chunk_count"] == first["chunk_count"]
    assert second["page_count"] == first["page_count"] == 3
    content, second_chunks = await assert_ingested(ingest_app, second)
    assert content.version == 2
    assert len(second_chunks) == second["chunk_count"]
    assert {chunk.version for chunk in second_chunks} == {2}
    assert [chunk.text for chunk in second_chunks] == [chunk.text for chunk in first_chunks]
    assert not {chunk.id for chunk in second_chunks} & {chunk.id for chunk in first_chunks}


class StalledModel:
    """An embedding model whose first call hangs until released: a worker stalled past its lease."""

    def __init__(self, model: EmbeddingProvider) -> None:
        self.inner = model
        self.model, self.dimension = model.model, model.dimension
        self.entered, self.release = asyncio.Event(), asyncio.Event()

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        self.entered.set()
        await self.release.wait()
        return await self.inner.embed(texts)

    async def close(self) -> None:
        await self.inner.close()


async def test_an_attempt_that_lost_its_lease_writes_nothing(
    ingest_app: FastAPI, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """The reaper hands a stalled attempt's job to another; when the stalled one wakes, it must change nothing."""
    account = await register(http)
    pdf = write_pdf(tmp_path / "fruit.pdf", PDF_PAGES).read_bytes()
    document_id, job_id = await upload(http, account, "fruit.pdf", pdf)
    assert (await wait_until_finished(http, account, job_id, seconds=90))["status"] == "succeeded"
    principal = Principal.for_member(org_id=account.org_id, user_id=account.user_id, role=Role.OWNER)
    sessionmaker = ingest_app.state.sessionmaker
    # Enqueued where no job queue is reachable, so that only this test's stalled runner takes it.
    async with create_sessionmaker(ingest_app.state.engine)() as session, session.begin():
        job = await jobs.enqueue(
            session, principal=principal, kind=INGEST_DOCUMENT, max_attempts=3, subject_id=document_id
        )
    settings = ingest_app.state.settings
    stalled = StalledModel(ingest_app.state.embedder.get())
    handler = Ingestion(settings.ingestion, ingest_app.state.storage, lambda: stalled, ingest_app.state.usage)
    first = asyncio.create_task(JobRunner(sessionmaker, settings.jobs, {INGEST_DOCUMENT: handler}).run(job.id))
    async with asyncio.timeout(60):
        await stalled.entered.wait()

    async with sessionmaker() as session, session.begin():
        expired = datetime.now(UTC) - timedelta(seconds=1)
        await session.execute(update(Job).where(Job.id == job.id).values(lease_expires_at=expired))
        lost, requeued = await JobRepository(session).requeue_expired_leases()
        assert (lost, [queued.id for queued in requeued]) == ([], [job.id])
    await ingest_app.state.job_queue.dispatch([job.id])
    second = await wait_until_finished(http, account, job.id, seconds=90)
    assert second["status"] == "succeeded", second
    assert second["attempts"] == 2
    stalled.release.set()
    async with asyncio.timeout(60):
        await first  # the stalled attempt stops at its next write, without an error of its own

    after = await http.get(f"{JOBS}/{job.id}", headers=account.headers)
    assert {key: after.json()[key] for key in ("status", "attempts", "progress")} == {
        "status": "succeeded",
        "attempts": 2,
        "progress": 100,
    }
    document = await get_document(http, account, document_id)
    assert document["version"] == 2
    _, chunks = await assert_ingested(ingest_app, document)
    async with sessionmaker() as session:
        counted = await session.scalar(select(SearchCorpus.chunks).where(SearchCorpus.org_id == account.org_id))
        apples = await session.scalar(
            select(SearchTerm.chunks).where(SearchTerm.org_id == account.org_id, SearchTerm.lexeme == "appl")
        )
        stored = await session.scalar(select(func.count()).select_from(Chunk).where(Chunk.document_id == document_id))
    assert counted == stored == len(chunks)
    assert apples == sum("apple" in chunk.text.lower() for chunk in chunks)
