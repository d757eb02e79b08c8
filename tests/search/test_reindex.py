"""A reindex builds its version beside the live one: held between embedding and publishing, searches still see only
the old chunks; once published, only the new ones, with the BM25 statistics following."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from folio.documents.storage import Storage
from folio.embeddings.factory import LazyProvider
from folio.ingestion.extracted import ExtractedText
from folio.ingestion.tasks import Ingestion
from folio.jobs.kinds import INGEST_DOCUMENT
from folio.jobs.runner import JobContext
from folio.main import create_app
from folio.models import Document, SearchTerm
from folio.usage.service import Meter
from tests.conftest import make_settings
from tests.factories import register, wait_until_finished

OLD = "The harbour master records every ship that enters the port."
NEW = "The lighthouse keeper records every storm that reaches the coast."


class GatedIngestion(Ingestion):
    """Ingestion that stops before making its version live until the test opens the gate."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.held = asyncio.Event()
        self.gate = asyncio.Event()
        self.gate.set()

    async def _publish(
        self, context: JobContext, document: Document, version: int, extracted: ExtractedText, chunk_count: int
    ) -> None:
        self.held.set()
        await self.gate.wait()
        await super()._publish(context, document, version, extracted, chunk_count)


@pytest.fixture
async def gated(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, GatedIngestion, FastAPI]]:
    settings = make_settings(database_url)
    holder: list[GatedIngestion] = []

    # The handler needs the app's storage and embedder, which exist once the lifespan runs.
    class Handlers(dict[str, GatedIngestion]):
        def bind(self, storage: Storage, embedder: LazyProvider, meter: Meter) -> None:
            holder.append(GatedIngestion(settings.ingestion, storage, embedder.get, meter))
            self[INGEST_DOCUMENT] = holder[0]

    handlers = Handlers()
    application = create_app(settings, job_handlers=handlers)
    async with application.router.lifespan_context(application):
        handlers.bind(application.state.storage, application.state.embedder, application.state.usage)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://testserver"
        ) as client:
            yield client, holder[0], application


async def hits(client: httpx.AsyncClient, headers: dict[str, str], query: str, mode: str) -> list[str]:
    response = await client.post("/api/v1/search", json={"query": query, "mode": mode}, headers=headers)
    assert response.status_code == 200, response.text
    return [hit["text"] for hit in response.json()["items"]]


async def test_searches_see_the_old_version_until_the_new_one_is_published(
    gated: tuple[httpx.AsyncClient, GatedIngestion, FastAPI],
) -> None:
    client, ingestion, app = gated
    account = await register(client)
    upload = await client.post(
        "/api/v1/documents", files=[("files", ("log.txt", OLD.encode(), "text/plain"))], headers=account.headers
    )
    item = upload.json()["items"][0]
    await wait_until_finished(client, account, UUID(item["job_id"]), seconds=90)
    document_id = item["document"]["id"]
    # The extractor will read new text this time, as if the file's reading had improved.
    async with app.state.sessionmaker() as session:
        key = await session.scalar(select(Document.storage_key).where(Document.id == UUID(document_id)))
    app.state.storage.local_path(key).write_text(NEW)
    ingestion.gate.clear()
    ingestion.held.clear()

    reindex = await client.post(f"/api/v1/documents/{document_id}/reindex", headers=account.headers)
    await asyncio.wait_for(ingestion.held.wait(), 90)
    during = {
        mode: (
            await hits(client, account.headers, "harbour", mode),
            await hits(client, account.headers, "lighthouse", mode),
        )
        for mode in ("keyword", "hybrid")
    }
    ingestion.gate.set()
    job = await wait_until_finished(client, account, UUID(reindex.json()["id"]), seconds=90)

    assert job["status"] == "succeeded"
    assert during["keyword"] == ([OLD], [])
    assert during["hybrid"][0] == [OLD]
    assert during["hybrid"][1] == [OLD]  # the vector side finds the only document there is: the old version
    assert await hits(client, account.headers, "harbour", "keyword") == []
    assert await hits(client, account.headers, "lighthouse", "keyword") == [NEW]
    async with app.state.sessionmaker() as session:
        lexemes = set(await session.scalars(select(SearchTerm.lexeme).where(SearchTerm.org_id == account.org_id)))
    assert "lighthous" in lexemes
    assert "harbour" not in lexemes
