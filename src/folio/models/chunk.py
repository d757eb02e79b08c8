from __future__ import annotations

from uuid import UUID

from pgvector.sqlalchemy import Vector
from sqlalchemy import FetchedValue, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, IdMixin

EMBEDDING_DIMENSION = 384


class Chunk(IdMixin, Base):
    """A passage of a document version, with its vector and its full-text index."""

    __tablename__ = "chunks"
    __table_args__ = (
        Index("ix_chunks_document_id_version", "document_id", "version", "ordinal"),
        # Search walks it for the configurations an organization's chunks use.
        Index("ix_chunks_org_id_search_config", "org_id", "search_config"),
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
    # The PostgreSQL text search configuration of the document's language (`folio.search.languages`); `simple`
    # for a language PostgreSQL does not stem. Chunks indexed before languages were detected are `english`.
    search_config: Mapped[str] = mapped_column(String(32), server_default="english")
    # The text as the index reads it when that is not `text` itself: Chinese, Japanese and Korean runs of
    # characters as their pairs. Null otherwise.
    search_text: Mapped[str | None] = mapped_column(Text, deferred=True)
    # Built by the trigger `chunks_search_vector` (migration ea9d3a9a0d08): to_tsvector(search_config,
    # coalesce(search_text, text)). A generated column could not take its configuration from the row.
    search_vector: Mapped[str] = mapped_column(TSVECTOR, server_default=FetchedValue(), deferred=True)
