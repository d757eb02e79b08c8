"""Hybrid search: BM25 keyword ranking and vector ranking of an organization's live chunks, fused by reciprocal rank."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import html
import json
import re
import time
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.db import release, spare_connections
from folio.embeddings.provider import EmbeddingProvider
from folio.observability import metrics
from folio.pagination import InvalidCursor
from folio.search import languages
from folio.search.repository import Ranked, SearchRepository, any_of
from folio.search.schemas import (
    MAX_DEPTH,
    HitScores,
    SearchHit,
    SearchMode,
    SearchRequest,
    SearchResponse,
    describe_filters,
)
from folio.settings import SearchSettings

# `"a phrase"` must appear and `-word` must not: the parts of web-search syntax that filter instead of rank.
_PHRASE = re.compile(r'"[^"]*"')
_NEGATION = re.compile(r"(?:^|\s)-\S+")
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"


@dataclass(frozen=True, slots=True)
class Parsed:
    words: str
    required: str | None


def parse_query(query: str) -> Parsed:
    """Split a query into the words that rank (every word, phrases included) and the part that filters, both as
    the index reads them (`languages.searchable`)."""
    phrases = _PHRASE.findall(query)
    negations = [match.strip() for match in _NEGATION.findall(_PHRASE.sub(" ", query))]
    words = _NEGATION.sub(" ", query).replace('"', " ")
    required = " ".join(phrase for phrase in [*phrases, *negations] if phrase.strip('"-').strip())
    return Parsed(words=languages.searchable(" ".join(words.split())), required=languages.searchable(required) or None)


async def search(
    session: AsyncSession,
    *,
    principal: Principal,
    request: SearchRequest,
    embedder: EmbeddingProvider,
    settings: SearchSettings,
    source: str = "search",
) -> SearchResponse:
    started = time.perf_counter()
    offset = _offset(request)
    depth = min(max(settings.candidates, offset + request.top_k), MAX_DEPTH)
    # The question is embedded first, with no connection held: a caller's earlier work is committed now.
    await release(session)
    embedding = None if request.mode is SearchMode.KEYWORD else (await embedder.embed([request.query]))[0]
    repository = SearchRepository(session)
    parsed = parse_query(request.query)
    corpus = await repository.corpus(principal.org_id)
    # The query is analysed as each of the organization's chunks was indexed (the default for an empty one).
    configs = await repository.configs(principal.org_id) or [settings.text_search_config]
    terms = await repository.terms(principal.org_id, configs, parsed.words, corpus)

    async def keyword_side() -> list[Ranked]:
        return await repository.keyword(
            principal,
            request.filters,
            terms,
            corpus=corpus,
            config=configs,
            required=parsed.required,
            limit=depth,
            scored=settings.keyword_candidates,
            k1=settings.bm25_k1,
            b=settings.bm25_b,
        )

    async def vector_side(repository: SearchRepository) -> list[Ranked]:
        assert embedding is not None  # noqa: S101 — computed above for every mode with a vector side
        # Small organizations, and searches narrowed to a few documents, are measured exactly: as fast, and exact.
        exact = corpus.chunks <= settings.exact_below or bool(request.filters.document_ids)
        nearest = partial(
            repository.vector,
            principal,
            request.filters,
            embedding.tolist(),
            config=configs,
            required=parsed.required,
            limit=depth,
        )
        found = await nearest(exact=exact, ef_search=settings.ef_search)
        if not exact and len(found) < depth:
            # The graph walk gave up before finding enough chunks that pass the filters: measure them all instead.
            found = await nearest(exact=True, ef_search=0)
        return found

    if request.mode is SearchMode.HYBRID and spare_connections(session) > 0:
        # Both sides at once, the vector side on a connection of its own: the latency is the slower side's. Only
        # with a connection to spare: a search holding one and waiting for another would, under load, wait for
        # searches that wait for it.
        async with AsyncSession(session.bind) as own:
            keyword, vector = await asyncio.gather(keyword_side(), vector_side(SearchRepository(own)))
    else:
        keyword = await keyword_side() if request.mode is not SearchMode.VECTOR else []
        vector = await vector_side(repository) if request.mode is not SearchMode.KEYWORD else []

    ranked = _fuse(request, settings, keyword, vector)
    page = ranked[offset : offset + request.top_k]
    rows = await repository.hits([chunk_id for chunk_id, _ in page], highlight=any_of(terms) or None)
    keyword_by_id = {hit.chunk_id: (rank, hit.score) for rank, hit in enumerate(keyword, 1)}
    vector_by_id = {hit.chunk_id: (rank, hit.score) for rank, hit in enumerate(vector, 1)}
    pairs = [term.lexeme for term in terms if languages.paired(term.lexeme)]
    items = [
        _hit(rows[chunk_id], pairs, fused, keyword_by_id.get(chunk_id), vector_by_id.get(chunk_id))
        for chunk_id, fused in page
    ]
    end = offset + len(page)
    next_cursor = _cursor(request, end) if end < len(ranked) and end < MAX_DEPTH else None
    took_ms = (time.perf_counter() - started) * 1000
    metrics.SEARCH_DURATION.labels(request.mode.value).observe(took_ms / 1000)
    await repository.log(
        org_id=principal.org_id,
        user_id=principal.member_id,
        api_key_id=principal.api_key_id,
        query=request.query,
        mode=request.mode.value,
        filters=describe_filters(request.filters),
        top_k=request.top_k,
        hit_count=len(items),
        latency_ms=took_ms,
        source=source,
    )
    return SearchResponse(items=items, next_cursor=next_cursor, mode=request.mode, took_ms=round(took_ms, 2))


def _fuse(
    request: SearchRequest, settings: SearchSettings, keyword: list[Ranked], vector: list[Ranked]
) -> list[tuple[UUID, float]]:
    if request.mode is SearchMode.KEYWORD:
        return [(hit.chunk_id, hit.score) for hit in keyword]
    if request.mode is SearchMode.VECTOR:
        return [(hit.chunk_id, hit.score) for hit in vector]
    k = request.hybrid.k or settings.rrf_k
    weights = (
        (keyword, settings.keyword_weight if request.hybrid.keyword_weight is None else request.hybrid.keyword_weight),
        (vector, settings.vector_weight if request.hybrid.vector_weight is None else request.hybrid.vector_weight),
    )
    fused: dict[UUID, float] = {}
    for hits, weight in weights:
        for rank, hit in enumerate(hits, 1):
            fused[hit.chunk_id] = fused.get(hit.chunk_id, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def _hit(
    row: Row[Any],
    pairs: list[str],
    fused: float,
    keyword: tuple[int, float] | None,
    vector: tuple[int, float] | None,
) -> SearchHit:
    return SearchHit(
        chunk_id=row.id,
        document_id=row.document_id,
        document_title=row.title,
        source_url=row.source_url,
        file_type=row.kind,
        page_start=row.page_start,
        page_end=row.page_end,
        ordinal=row.ordinal,
        text=row.text,
        snippet=_marked(_paired_snippet(row.text, pairs) if row.paired and pairs else row.snippet),
        scores=HitScores(
            keyword=None if keyword is None else round(keyword[1], 6),
            vector=None if vector is None else round(vector[1], 6),
            fused=round(fused, 6),
            keyword_rank=None if keyword is None else keyword[0],
            vector_rank=None if vector is None else vector[0],
        ),
    )


def _paired_snippet(text: str, pairs: list[str], width: int = 240) -> str:
    """The passage of a chunk indexed by CJK pairs (which ts_headline cannot find in the text): `width` characters
    from a little before the first of the query's `pairs` it holds, each run of them marked; its start when none."""
    spans: list[list[int]] = []
    for start, end in sorted((m.start(), m.end()) for pair in pairs for m in re.finditer(re.escape(pair), text)):
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    begin = max(spans[0][0] - width // 5, 0) if spans else 0
    end = min(begin + width, len(text))
    pieces, cursor = [], begin
    for start, stop in spans:
        start, stop = max(start, cursor), min(stop, end)
        if start < stop:
            pieces += [text[cursor:start], _MARK_OPEN, text[start:stop], _MARK_CLOSE]
            cursor = stop
    return "".join([*pieces, text[cursor:end]])


def _marked(snippet: str) -> str:
    """HTML-escape the passage (it is document text), then turn the highlight markers into `<mark>` elements."""
    return (
        html.escape(" ".join(snippet.split()), quote=False)
        .replace(_MARK_OPEN, "<mark>")
        .replace(_MARK_CLOSE, "</mark>")
    )


def _fingerprint(request: SearchRequest) -> str:
    """What a cursor belongs to: the same query, mode, filters, tuning and page size."""
    shape = request.model_dump(mode="json", exclude={"cursor"})
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def _cursor(request: SearchRequest, offset: int) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{_fingerprint(request)}".encode()).decode().rstrip("=")


def _offset(request: SearchRequest) -> int:
    if request.cursor is None:
        return 0
    try:
        offset, fingerprint = (
            base64.urlsafe_b64decode(request.cursor + "=" * (-len(request.cursor) % 4)).decode().split(":")
        )
        value = int(offset)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
    if fingerprint != _fingerprint(request) or not 0 < value < MAX_DEPTH:
        raise InvalidCursor("The cursor belongs to another search (query, mode, filters and top_k must stay the same).")
    # The decoder forgives padding, stray characters and spare bits: only the spelling this API issues is read.
    if _cursor(request, value) != request.cursor:
        raise InvalidCursor()
    return value
