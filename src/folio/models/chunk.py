from __future__ import annotations

from uuid import UUID

from pgvector.sqlalchemy import Vector
from sqlalchemy import Computed, ForeignKey, Index, Integer, SmallInteger, Text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, IdMixin

EMBEDDING_DIMENSION = 384


class Chunk(IdMixin, Base):
    """A passage of a document version, with its vector and its full-text index."""

    __tablename__ = "chunks"
    __table_args__ = (
        Index("ix_chunks_document_id_version", "document_id", "version", "ordinal"),
        Index("ix_chunks_org_id", "org_id"),
        Index(
            "ix_chunks_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
        Index("ix_chunks_search_vector", "search_vector", postgresql_using="gin"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    document_id: Mapped[UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    ordinal: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    start_char: Mapped[int] = mapped_column(Integer)
    end_char: Mapped[int] = mapped_column(Integer)
    page_start: Mapped[int] = mapped_column(Integer)
    page_end: Mapped[int] = mapped_column(Integer)
    # Offsets in `text` where pages page_start + 1 … page_end begin. Null on chunks written before it was recorded
    # whose version's content was not at hand to backfill it; a chunk on one page needs none.
    page_breaks: Mapped[list[int] | None] = mapped_column(ARRAY(Integer))
    token_count: Mapped[int] = mapped_column(SmallInteger)
    embedding: Mapped[list[float]] = mapped_column(Vector(EMBEDDING_DIMENSION))
    search_vector: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('english', text)", persisted=True), deferred=True
    )
