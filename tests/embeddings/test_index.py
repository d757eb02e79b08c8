"""The embedding model is recorded on first start; another model refuses to start."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from folio.embeddings.index import EmbeddingModelMismatch
from folio.embeddings.local import LocalMiniLM
from folio.main import create_app
from folio.models import EmbeddingIndex
from tests.conftest import make_settings


async def test_the_first_start_records_the_model_and_a_different_one_is_refused(
    app: FastAPI, database_url: str
) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        await session.merge(EmbeddingIndex(id=1, model=LocalMiniLM.model, dimension=LocalMiniLM.dimension))
    restarted = create_app(make_settings(database_url))
    async with restarted.router.lifespan_context(restarted):
        pass  # the same model starts

    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(EmbeddingIndex).values(model="text-embedding-3-small", dimension=1536))
    refused = create_app(make_settings(database_url))
    with pytest.raises(EmbeddingModelMismatch, match="text-embedding-3-small") as raised:
        async with refused.router.lifespan_context(refused):
            pass
    assert LocalMiniLM.model in str(raised.value)
