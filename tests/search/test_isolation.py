"""Tenant isolation as a property: whatever organizations and documents exist, a search or an answer's retrieval in
one organization never returns another's chunks, in any mode, exact or through the HNSW graph."""

from __future__ import annotations

import random
from uuid import UUID

import numpy as np
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from folio.answers.service import Answerer, retrieve
from folio.auth.principal import ROLE_SCOPES, Principal
from folio.embeddings.factory import LazyProvider
from folio.ingestion.extracted import FileKind
from folio.models import Chunk, Document, DocumentStatus, Organization, Role
from folio.search import service
from folio.search.repository import SearchRepository
from folio.search.schemas import SearchMode, SearchRequest
from folio.settings import LLMSettings, SearchSettings
from tests.conftest import empty_tables

WORDS = "ledger river bridge flood contract notice honey lava basalt invoice audit budget harbour engine".split()


async def populate(app: FastAPI, layout: list[list[int]], seed: int) -> list[UUID]:
    """Organizations with documents of `layout[org][doc]` chunks of random words and random unit vectors."""
    rng = random.Random(seed)
    vectors = np.random.default_rng(seed)
    org_ids: list[UUID] = []
    async with app.state.sessionmaker() as session, session.begin():
        for documents in layout:
            organization = Organization(name="org")
            session.add(organization)
            await session.flush()
            org_ids.append(organization.id)
            for chunk_count in documents:
                document = Document(
                    org_id=organization.id,
                    title="doc",
                    filename="doc.txt",
                    kind=FileKind.TEXT,
                    status=DocumentStatus.READY,
                    storage_key="none",
                    size_bytes=1,
                    sha256="0" * 64,
                    version=1,
                )
                session.add(document)
                await session.flush()
                rows = []
                for ordinal in range(chunk_count):
                    vector = vectors.normal(size=384)
                    rows.append(
                        {
                            "org_id": organization.id,
                            "document_id": document.id,
                            "version": 1,
                            "ordinal": ordinal,
                            "text": " ".join(rng.choice(WORDS) for _ in range(12)),
                            "start_char": 0,
                            "end_char": 1,
                            "page_start": 1,
                            "page_end": 1,
                            "token_count": 12,
                            "embedding": (vector / np.linalg.norm(vector)).tolist(),
                        }
                    )
                if rows:
                    await session.execute(insert(Chunk), rows)
                    await SearchRepository(session).count_version(organization.id, document.id, 1, sign=1)
    return org_ids


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    layout=st.lists(st.lists(st.integers(0, 6), max_size=4), min_size=2, max_size=4),
    seed=st.integers(0, 2**16),
    query=st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
    exact_below=st.sampled_from([0, 20_000]),
)
async def test_no_search_sees_another_organizations_chunks(
    app: FastAPI, layout: list[list[int]], seed: int, query: str, exact_below: int
) -> None:
    try:
        org_ids = await populate(app, layout, seed)
        embedder: LazyProvider = app.state.embedder
        search_settings = SearchSettings(exact_below=exact_below)
        async with app.state.sessionmaker() as session:
            chunk_orgs: dict[UUID, UUID] = {
                row.id: row.org_id for row in await session.execute(select(Chunk.id, Chunk.org_id))
            }
            for org_id in org_ids:
                principal = Principal(org_id=org_id, scopes=ROLE_SCOPES[Role.VIEWER])
                for mode in SearchMode:
                    found = await service.search(
                        session,
                        principal=principal,
                        request=SearchRequest(query=query, mode=mode, top_k=100),
                        embedder=embedder.get(),
                        settings=search_settings,
                    )
                    assert {chunk_orgs[hit.chunk_id] for hit in found.items} <= {org_id}
                    if mode is not SearchMode.KEYWORD:
                        own = sum(1 for chunk_org in chunk_orgs.values() if chunk_org == org_id)
                        assert len(found.items) == min(own, 100)
                sources = await retrieve(
                    session,
                    principal=principal,
                    question=query,
                    filters=SearchRequest(query=query).filters,
                    top_k=20,
                    answerer=Answerer(embedder=embedder.get(), llm=None, search=search_settings, limits=LLMSettings()),
                )
                assert {chunk_orgs[source.chunk_id] for source in sources} <= {org_id}
    finally:
        await empty_tables(app)
