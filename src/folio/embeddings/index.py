"""Refuse to run with an embedding model other than the one the stored vectors were made with."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from folio.models.embedding_index import EmbeddingIndex


class EmbeddingModelMismatch(RuntimeError):
    def __init__(self, stored: tuple[str, int], configured: tuple[str, int]) -> None:
        (stored_model, stored_dimension), (model, dimension) = stored, configured
        super().__init__(
            f"The index holds vectors of {stored_model} ({stored_dimension} dimensions), but this server is set up "
            f"to embed with {model} ({dimension} dimensions). Vectors of different models cannot be compared: "
            f"configure {stored_model} again, or start from an empty database and ingest everything anew."
        )


async def check_embedding_index(engine: AsyncEngine, model: str, dimension: int) -> None:
    """Record the model on first start; raise EmbeddingModelMismatch when a different one is configured.

    A database not migrated yet is left alone: the server starts and readiness reports the migrations.
    """
    async with AsyncSession(engine) as session, session.begin():
        if await session.scalar(text("SELECT to_regclass('embedding_index') IS NULL")):
            return
        await session.execute(
            insert(EmbeddingIndex).values(id=1, model=model, dimension=dimension).on_conflict_do_nothing()
        )
        row = await session.get(EmbeddingIndex, 1)
        stored = (row.model, row.dimension) if row else ("nothing", 0)
    if stored != (model, dimension):
        raise EmbeddingModelMismatch(stored, (model, dimension))
