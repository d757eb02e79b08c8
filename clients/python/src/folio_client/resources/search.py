"""Hybrid search (`POST /search`) and the filters it shares with answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TypedDict
from uuid import UUID

from folio_client._core import Call, Core, Flow, path
from folio_client.models import FileKind, SearchHit, SearchMode, SearchResponse
from folio_client.pagination import AsyncPage, SyncPage


class TagFilter(TypedDict, total=False):
    any: Sequence[str]
    """At least one of these tags."""
    all: Sequence[str]
    """Every one of these tags."""


class SearchFilters(TypedDict, total=False):
    """Which documents a search (or an answer) may draw on; every condition given must hold."""

    document_ids: Sequence[UUID | str]
    tags: TagFilter
    metadata: Mapping[str, str | int | float | bool | None]
    file_types: Sequence[FileKind]
    created_after: datetime
    created_before: datetime


class HybridTuning(TypedDict, total=False):
    """Reciprocal rank fusion: a hit's score is the sum of `weight / (k + rank)` over the rankings it is in."""

    k: int
    keyword_weight: float
    vector_weight: float


class SearchResults(SyncPage[SearchHit]):
    """A page of hits, best first; iterating it goes on through the next pages."""

    def __init__(self, response: SearchResponse, fetch: Callable[[str], SearchResults]) -> None:
        super().__init__(response.items, response.next_cursor, fetch)
        self.mode: SearchMode = response.mode
        self.took_ms = response.took_ms


class AsyncSearchResults(AsyncPage[SearchHit]):
    def __init__(self, response: SearchResponse, fetch: Callable[[str], Awaitable[AsyncSearchResults]]) -> None:
        super().__init__(response.items, response.next_cursor, fetch)
        self.mode: SearchMode = response.mode
        self.took_ms = response.took_ms


def search_flow(
    core: Core,
    query: str,
    cursor: str | None,
    *,
    mode: SearchMode | None,
    top_k: int | None,
    filters: SearchFilters | None,
    hybrid: HybridTuning | None,
) -> Flow[SearchResponse]:
    body: dict[str, object] = {"query": query}
    for name, value in (("mode", mode), ("top_k", top_k), ("filters", filters), ("hybrid", hybrid)):
        if value is not None:
            body[name] = value
    if cursor is not None:
        body["cursor"] = cursor
    # A search changes nothing but the search log: safe to send again.
    return core.fetch(Call("POST", path("/search"), json=body, retry_safe=True), SearchResponse)
