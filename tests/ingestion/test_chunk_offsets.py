"""Chunks know where their pages begin (issue 18, item 7): ingestion stores the breaks, which agree with the pages
of the content a client fetches, and the migration that added them backfills the same breaks in SQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from fastapi import FastAPI
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from folio.db import to_async_url
from folio.migrate import alembic_config
from folio.models import Chunk, DocumentContent
from tests.conftest import empty_tables
from tests.factories import register, wait_until_finished
from tests.ingestion.fixtures import write_pdf

PAGE_BREAKS_REVISION = "c1a7e0f2d418"


# Pages of different lengths: chunks of 250 tokens hold several short pages, and a long page is cut inside.
LEASE = [
    [f"Clause {page}.{line}: the tenant and the landlord agree on item {line} of page {page}" for line in range(lines)]
    for page, lines in enumerate([3, 4, 2, 24, 3, 5, 2], start=1)
]


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's document lives until the module ends (see `lease`)."""


@pytest.fixture(scope="module")
async def lease(app: FastAPI, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[UUID]:
    pdf = write_pdf(tmp_path_factory.mktemp("chunk-offsets") / "lease.pdf", LEASE).read_bytes()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        account = await register(client)
        response = await client.post(
            "/api/v1/documents", files=[("files", ("lease.pdf", pdf, "application/pdf"))], headers=account.headers
        )
        assert response.status_code == 202, response.text
        item = response.json()["items"][0]
        job = await wait_until_finished(client, account, UUID(item["job_id"]), seconds=90)
        assert job["status"] == "succeeded", job
        yield UUID(item["document"]["id"])
    await empty_tables(app)


async def stored(app: FastAPI, document_id: UUID) -> tuple[DocumentContent, list[Chunk]]:
    async with app.state.sessionmaker() as session:
        content = await session.get(DocumentContent, document_id)
        chunks = await session.scalars(select(Chunk).where(Chunk.document_id == document_id).order_by(Chunk.ordinal))
        assert content is not None
        return content, list(chunks)


async def test_ingestion_stores_where_each_page_of_a_chunk_begins(app: FastAPI, lease: UUID) -> None:
    content, chunks = await stored(app, lease)

    assert sum(1 for chunk in chunks if chunk.page_end > chunk.page_start) >= 2
    assert any(chunk.page_end == chunk.page_start for chunk in chunks)
    for chunk in chunks:
        assert chunk.page_breaks is not None
        later_pages = [(number, start) for number, start, _ in content.pages if number > chunk.page_start]
        expected = [start - chunk.start_char for number, start in later_pages if number <= chunk.page_end]
        assert chunk.page_breaks == expected
        for position, number in zip(chunk.page_breaks, range(chunk.page_start + 1, chunk.page_end + 1), strict=True):
            # The content a client fetches has page `number` begin right there.
            assert content.pages[number - 1][1] == chunk.start_char + position


@pytest.fixture
async def own_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own: its connection's cached statements outlive no schema change."""
    engine = create_async_engine(to_async_url(database_url))
    yield engine
    await engine.dispose()


def _down_and_up(connection: Connection, *, content_moved_on: UUID | None) -> None:
    migration: Any = ScriptDirectory.from_config(alembic_config()).get_revision(PAGE_BREAKS_REVISION).module
    with Operations.context(MigrationContext.configure(connection)):
        migration.downgrade()
        assert "page_breaks" not in {column["name"] for column in inspect(connection).get_columns("chunks")}
        if content_moved_on is not None:
            connection.execute(
                text("UPDATE document_contents SET version = version + 1 WHERE document_id = :id"),
                {"id": content_moved_on},
            )
        migration.upgrade()


async def _breaks_after_migrating(engine: AsyncEngine, content_moved_on: UUID | None = None) -> dict[UUID, Any]:
    """The chunks' page breaks as the migration backfills them (in a transaction rolled back after), the content
    of document `content_moved_on` made another version than its chunks' first."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            await connection.run_sync(_down_and_up, content_moved_on=content_moved_on)
            rows = await connection.execute(text("SELECT id, page_breaks FROM chunks"))
            return {row.id: row.page_breaks for row in rows}
        finally:
            await transaction.rollback()


async def test_the_migration_backfills_the_breaks_of_chunks_that_span_pages(
    app: FastAPI, lease: UUID, own_engine: AsyncEngine
) -> None:
    _, chunks = await stored(app, lease)

    backfilled = await _breaks_after_migrating(own_engine)

    for chunk in chunks:
        if chunk.page_end > chunk.page_start:
            assert backfilled[chunk.id] == chunk.page_breaks
        else:
            assert backfilled[chunk.id] is None  # a chunk on one page needs none
    _, unchanged = await stored(app, lease)
    assert [chunk.page_breaks for chunk in unchanged] == [chunk.page_breaks for chunk in chunks]


async def test_the_migration_leaves_pages_unknown_when_the_content_is_another_version(
    app: FastAPI, lease: UUID, own_engine: AsyncEngine
) -> None:
    _, chunks = await stored(app, lease)

    backfilled = await _breaks_after_migrating(own_engine, content_moved_on=lease)

    assert all(backfilled[chunk.id] is None for chunk in chunks)
