"""BM25 scores a bounded set of candidates picked by the query's rarest words, each with every query word."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from folio.auth.principal import Principal
from folio.models import Chunk
from folio.search.repository import Corpus, Ranked, SearchRepository
from folio.search.schemas import SearchFilters
from tests.conftest import empty_tables
from tests.corpus import Doc, ingest
from tests.factories import register

# One chunk each. "garden" is in six of them, "soil" in four, "orchid" in one; two hold both garden and soil.
DOCS = {
    "orchid": Doc("orchid.txt", "The orchid in the garden greenhouse wants humidity and filtered light."),
    "both_a": Doc("both_a.txt", "Garden soil, garden soil: compost turns a poor soil into a rich garden bed."),
    "both_b": Doc("both_b.txt", "Test the garden soil before planting; acid soil suits blueberries."),
    "soil_a": Doc("soil_a.txt", "Clay soil holds water and drains slowly after rain."),
    "soil_b": Doc("soil_b.txt", "Sandy soil warms early in spring and needs frequent watering."),
    "garden_a": Doc("garden_a.txt", "A garden path of gravel keeps the lawn edges tidy."),
    "garden_b": Doc("garden_b.txt", "The community garden meets on Saturdays to share tools and seeds."),
    "garden_c": Doc("garden_c.txt", "A rooftop garden needs wind shelter and light containers."),
}


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's documents live until the module ends (see `ids`); tests here only read."""


@pytest.fixture(scope="module")
async def ids(app: FastAPI) -> AsyncIterator[tuple[UUID, dict[str, UUID]]]:
    """The organization's id and the documents' ids by name."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        account = await register(client)
        documents, _ = await ingest(client, account, DOCS)
        yield account.org_id, documents
    await empty_tables(app)


async def keyword(app: FastAPI, org_id: UUID, query: str, scored: int) -> list[Ranked]:
    settings = app.state.settings.search
    async with app.state.sessionmaker() as session:
        repository = SearchRepository(session)
        corpus: Corpus = await repository.corpus(org_id)
        terms = await repository.terms(org_id, settings.text_search_config, query, corpus)
        return await repository.keyword(
            Principal(org_id=org_id, scopes=frozenset()),
            SearchFilters(),
            terms,
            corpus=corpus,
            config=settings.text_search_config,
            required=None,
            limit=10,
            scored=scored,
            k1=settings.bm25_k1,
            b=settings.bm25_b,
        )


async def names(app: FastAPI, documents: dict[str, UUID], hits: list[Ranked]) -> list[str]:
    by_id = {value: name for name, value in documents.items()}
    async with app.state.sessionmaker() as session:
        chunk_ids = [hit.chunk_id for hit in hits]
        rows = await session.execute(select(Chunk.id, Chunk.document_id).where(Chunk.id.in_(chunk_ids)))
        document_of = dict(rows.all())
    return [by_id[document_of[hit.chunk_id]] for hit in hits]


async def test_candidates_are_the_chunks_of_the_rarest_words_within_the_budget(
    app: FastAPI, ids: tuple[UUID, dict[str, UUID]]
) -> None:
    org_id, documents = ids
    unbounded = await keyword(app, org_id, "orchid garden", scored=100)
    bounded = await keyword(app, org_id, "orchid garden", scored=3)

    gardens = {"orchid", "both_a", "both_b", "garden_a", "garden_b", "garden_c"}
    assert set(await names(app, documents, unbounded)) == gardens
    # "orchid" (1 chunk) fits the budget of 3, "garden" (6 more) does not: only the orchid's chunk is scored...
    assert await names(app, documents, bounded) == ["orchid"]
    # ... and it is scored with both words, as without a budget.
    alone = next(hit for hit in unbounded if hit.chunk_id == bounded[0].chunk_id)
    assert bounded[0].score == pytest.approx(alone.score)


async def test_when_every_word_is_common_the_chunks_holding_all_of_them_come_first(
    app: FastAPI, ids: tuple[UUID, dict[str, UUID]]
) -> None:
    org_id, documents = ids
    unbounded = await keyword(app, org_id, "garden soil", scored=100)
    bounded = await keyword(app, org_id, "garden soil", scored=2)

    assert len(unbounded) == 8  # every chunk holds one of the words
    found = await names(app, documents, bounded)
    # Both words are in more than 2 chunks: the two chunks holding both are scored, then up to 2 holding "soil".
    assert set(found[:2]) == {"both_a", "both_b"}
    assert set(found[2:]) <= {"soil_a", "soil_b", "both_a", "both_b"}
    assert len(found) == len(set(found)) <= 4
    assert [hit.score for hit in bounded] == sorted((hit.score for hit in bounded), reverse=True)
