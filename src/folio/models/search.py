from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, SmallInteger, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin


class SearchTerm(Base):
    """How many live chunks of an organization contain a lexeme: the document frequency BM25's IDF needs.

    Kept per organization (one tenant's vocabulary never shapes another's ranking) and changed in the same
    transaction that makes a document version live or deletes it.
    """

    __tablename__ = "search_terms"

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    lexeme: Mapped[str] = mapped_column(Text, primary_key=True)
    chunks: Mapped[int] = mapped_column(Integer)


class SearchCorpus(Base):
    """An organization's live chunk count and their total length in tokens: BM25's N and average length."""

    __tablename__ = "search_corpora"

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    chunks: Mapped[int] = mapped_column(BigInteger)
    tokens: Mapped[int] = mapped_column(BigInteger)


class SearchQuery(IdMixin, CreatedAtMixin, Base):
    """One search as it was asked: the raw material of search analytics."""

    __tablename__ = "search_queries"
    __table_args__ = (
        Index("ix_search_queries_org_id_id", "org_id", "id"),
        Index("ix_search_queries_org_id_created_at", "org_id", "created_at"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    api_key_id: Mapped[UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    query: Mapped[str] = mapped_column(Text)
    # The query with trivial differences taken out (`folio.search.query_text.normalized_query`): what search
    # analytics group by.
    normalized: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    top_k: Mapped[int] = mapped_column(SmallInteger)
    hit_count: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16), default="search", server_default="search")
