from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from folio.ingestion.extracted import FileKind
from folio.schemas import RequestModel

MAX_TOP_K = 100
# Ranked results deeper than this are not worth paging to; the last page says so with `next_cursor: null`.
MAX_DEPTH = 1000

Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]


class SearchMode(StrEnum):
    HYBRID = "hybrid"
    VECTOR = "vector"
    KEYWORD = "keyword"


class TagFilter(RequestModel):
    any: list[Tag] = Field(default_factory=list, max_length=50, description="At least one of these tags.")
    all: list[Tag] = Field(default_factory=list, max_length=50, description="Every one of these tags.")


MetadataValue = str | int | float | bool | None


class SearchFilters(RequestModel):
    """Which documents a search may return; every condition must hold."""

    model_config = ConfigDict(extra="forbid")

    document_ids: list[UUID] | None = Field(None, max_length=100, description="Only these documents.")
    tags: TagFilter | None = None
    metadata: dict[str, MetadataValue] | None = Field(
        None, max_length=20, description="Metadata keys that must have exactly these values."
    )
    file_types: list[FileKind] | None = Field(None, max_length=10, description="Only these kinds of file.")
    created_after: datetime | None = Field(None, description="Documents uploaded at or after this time.")
    created_before: datetime | None = Field(None, description="Documents uploaded before this time.")

    @field_validator("metadata")
    @classmethod
    def _metadata_keys(cls, metadata: dict[str, MetadataValue] | None) -> dict[str, MetadataValue] | None:
        for key, value in (metadata or {}).items():
            if not key or len(key) > 100 or "\x00" in key or (isinstance(value, str) and "\x00" in value):
                raise ValueError("metadata keys are 1 to 100 characters; keys and values contain no NUL")
        return metadata

    @model_validator(mode="after")
    def _range(self) -> SearchFilters:
        if self.created_after and self.created_before and self.created_after >= self.created_before:
            raise ValueError("created_after must be before created_before")
        return self


class HybridTuning(RequestModel):
    """Reciprocal rank fusion: a hit's fused score is the sum of `weight / (k + rank)` over the lists it is in."""

    model_config = ConfigDict(extra="forbid")

    k: int | None = Field(None, ge=1, le=1000, description="Rank constant; the server's default when unset (60).")
    keyword_weight: float | None = Field(None, ge=0, le=10)
    vector_weight: float | None = Field(None, ge=0, le=10)


class SearchRequest(RequestModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"query": "termination notice period", "top_k": 5},
                {
                    "query": '"service level" credits -draft',
                    "mode": "keyword",
                    "filters": {"tags": {"any": ["contracts"]}, "file_types": ["pdf"]},
                },
            ]
        },
    )

    query: str = Field(
        min_length=1,
        max_length=1000,
        description=(
            "Words to find. Keyword search ranks chunks by BM25 over the words (any may match, rarer words count "
            'more); `"quoted phrases"` must appear and `-word` must not.'
        ),
    )
    mode: SearchMode = SearchMode.HYBRID
    top_k: int = Field(10, ge=1, le=MAX_TOP_K, description="Hits per page.")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    hybrid: HybridTuning = Field(default_factory=HybridTuning)
    cursor: str | None = Field(None, max_length=200, description="`next_cursor` of the previous page.")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, query: str) -> str:
        query = " ".join(query.split())
        if not query:
            raise ValueError("the query is empty")
        return query


class HitScores(BaseModel):
    keyword: float | None = Field(description="BM25 score; null when the keyword side did not find this chunk.")
    vector: float | None = Field(description="Cosine similarity to the query; null when not among vector results.")
    fused: float = Field(description="The score hits are ordered by: RRF in hybrid mode, else the side's score.")
    keyword_rank: int | None = None
    vector_rank: int | None = None


_SOURCE_URL = "The document's link at its source (a Notion page, a Confluence page, a web page); null for an upload."


class SearchHit(BaseModel):
    chunk_id: UUID
    document_id: UUID
    document_title: str
    source_url: str | None = Field(None, description=_SOURCE_URL)
    file_type: FileKind
    page_start: int
    page_end: int
    ordinal: int = Field(description="The chunk's position in its document.")
    text: str = Field(description="The whole chunk.")
    snippet: str = Field(
        description="The best passage of the chunk, HTML-escaped, with the query's words in `<mark>` elements."
    )
    scores: HitScores


class SearchResponse(BaseModel):
    items: list[SearchHit]
    next_cursor: str | None = Field(description="Pass as `cursor` (with the same query) for the next page.")
    mode: SearchMode
    took_ms: float


def describe_filters(filters: SearchFilters) -> dict[str, Any]:
    """The filters as the search log stores them: only the ones that were set."""
    return filters.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
