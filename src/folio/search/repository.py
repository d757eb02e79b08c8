"""SQL of search: the live chunks a search may see, BM25 over PostgreSQL's full-text index, pgvector nearest
neighbours, the per-organization term statistics BM25 needs (and, through `folio.analytics.trending.rollup`,
trending's daily counts of cases by lexeme), and the search log.

Each chunk is indexed with its own text search configuration (its document's language, `folio.search.languages`).
A query is analysed with every configuration the organization's chunks use: its lexemes are the union of theirs,
and BM25's statistics, counted by lexeme from the chunks' own vectors, hold across configurations as they are. A
phrase or a negation is matched against each chunk as analysed with that chunk's configuration."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    Float,
    Select,
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession

from folio.analytics.trending import rollup
from folio.auth.principal import Principal
from folio.models import Chunk, Document, SearchQuery
from folio.repository import sees_document
from folio.search.query_text import normalized_query
from folio.search.schemas import SearchFilters

# BM25 statistics change in the same statements for every organization: rows are locked in lexeme order, so two
# documents published at once wait for each other instead of deadlocking.
_COUNT_TERMS = text(
    """
    INSERT INTO search_terms (org_id, lexeme, chunks)
    SELECT c.org_id, t.lexeme, :sign * count(*)
    FROM chunks c, unnest(c.search_vector) t
    WHERE (c.document_id, c.version) IN (SELECT * FROM unnest(CAST(:document_ids AS uuid[]), CAST(:versions AS int[])))
    GROUP BY c.org_id, t.lexeme
    ORDER BY t.lexeme
    ON CONFLICT (org_id, lexeme) DO UPDATE SET chunks = search_terms.chunks + excluded.chunks
    RETURNING lexeme, chunks
    """
)
_FORGET_TERMS = text("DELETE FROM search_terms WHERE org_id = :org_id AND lexeme = ANY(:lexemes) AND chunks <= 0")
# The configurations of the organization's chunks, one probe of ix_chunks_org_id_search_config each (a loose index
# scan: DISTINCT would read every entry of the organization).
_CONFIGS = text(
    """
    WITH RECURSIVE found(config) AS (
        SELECT min(search_config) FROM chunks WHERE org_id = :org_id
        UNION ALL
        SELECT (SELECT min(search_config) FROM chunks WHERE org_id = :org_id AND search_config > found.config)
        FROM found
        WHERE found.config IS NOT NULL
    )
    SELECT config FROM found WHERE config IS NOT NULL
    """
)
_COUNT_CHUNKS = text(
    """
    INSERT INTO search_corpora (org_id, chunks, tokens)
    SELECT org_id, :sign * count(*), :sign * sum(token_count)
    FROM chunks
    WHERE (document_id, version) IN (SELECT * FROM unnest(CAST(:document_ids AS uuid[]), CAST(:versions AS int[])))
    GROUP BY org_id
    ON CONFLICT (org_id) DO UPDATE
    SET chunks = search_corpora.chunks + excluded.chunks, tokens = search_corpora.tokens + excluded.tokens
    """
)


@dataclass(frozen=True, slots=True)
class Ranked:
    """One side's answer: chunk ids best first, with that side's score."""

    chunk_id: UUID
    score: float


@dataclass(frozen=True, slots=True)
class Corpus:
    chunks: int
    average_tokens: float


@dataclass(frozen=True, slots=True)
class Term:
    lexeme: str
    chunks: int  # how many of the organization's live chunks hold it
    idf: float


class SearchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count_version(self, org_id: UUID, document_id: UUID, version: int, *, sign: int) -> None:
        """Add (`sign=1`) or take away (`-1`) one document version's chunks from the organization's statistics."""
        await self.count_versions(org_id, [(document_id, version)], sign=sign)

    async def count_versions(self, org_id: UUID, versions: Sequence[tuple[UUID, int]], *, sign: int) -> None:
        """`count_version` for many documents of the organization at once (a step of a record batch)."""
        if not versions:
            return
        document_ids, numbers = zip(*versions, strict=True)
        parameters = {"sign": sign, "document_ids": list(document_ids), "versions": list(numbers)}
        changed = (await self.session.execute(_COUNT_TERMS, parameters)).all()
        emptied = [lexeme for lexeme, chunks in changed if chunks <= 0]
        if emptied:
            await self.session.execute(_FORGET_TERMS, {"org_id": org_id, "lexemes": emptied})
        await self.session.execute(_COUNT_CHUNKS, parameters)
        await rollup.count_cases(self.session, org_id, document_ids=document_ids, versions=numbers, sign=sign)

    async def corpus(self, org_id: UUID) -> Corpus:
        row = (
            await self.session.execute(
                text("SELECT chunks, tokens FROM search_corpora WHERE org_id = :org_id"), {"org_id": org_id}
            )
        ).first()
        if row is None or row.chunks <= 0:
            return Corpus(chunks=0, average_tokens=1.0)
        return Corpus(chunks=row.chunks, average_tokens=max(row.tokens / row.chunks, 1.0))

    async def configs(self, org_id: UUID) -> list[str]:
        """The text search configurations the organization's chunks are indexed with."""
        return list((await self.session.scalars(_CONFIGS, {"org_id": org_id})).all())

    async def terms(self, org_id: UUID, config: str | Sequence[str], words: str, corpus: Corpus) -> list[Term]:
        """The query's lexemes (stemmed, stop words out, as the index has them) under each configuration `config`
        names that occur in the organization, with their inverse document frequency (BM25's, never negative)."""
        statement = text(
            """
            SELECT q.lexeme, s.chunks
            FROM (
                SELECT DISTINCT lexeme
                FROM unnest(CAST(:configs AS text[])) AS c(config),
                unnest(tsvector_to_array(to_tsvector(CAST(c.config AS regconfig), :words))) AS lexeme
            ) AS q
            JOIN search_terms s ON s.org_id = :org_id AND s.lexeme = q.lexeme
            WHERE s.chunks > 0
            """
        )
        parameters = {"configs": _names(config), "words": words, "org_id": org_id}
        rows = await self.session.execute(statement, parameters)
        return [
            Term(lexeme, chunks, math.log(1 + (corpus.chunks - chunks + 0.5) / (chunks + 0.5)))
            for lexeme, chunks in rows.all()
        ]

    async def keyword(
        self,
        principal: Principal,
        filters: SearchFilters,
        terms: Sequence[Term],
        *,
        corpus: Corpus,
        config: str | Sequence[str],
        required: str | None,
        limit: int,
        scored: int,
        k1: float,
        b: float,
    ) -> list[Ranked]:
        """BM25 over at most `scored` chunks that hold the query's words (every `required` phrase, none of its
        negations).

        Scoring reads each candidate's whole tsvector, so the cost follows the number of candidates, and a word that
        half the organization uses would make every query slow. Candidates are therefore the chunks holding the
        query's rarest words, taken rarest first while their chunks add up to at most `scored` (the bet of MaxScore:
        a chunk holding only common words scores low). When even the rarest word is that common, candidates are
        the chunks holding all the words, then any chunks holding the rarest one, up to `scored`. Every candidate
        is scored with all the words.
        """
        if not terms:
            return []
        bm25 = partial(self._bm25, principal, filters, terms, corpus, config, required, limit, scored, k1, b)
        rarest = _rarest(terms, scored)
        if rarest[0].chunks <= scored:
            return await bm25(any_of(rarest))
        holding_all = await bm25(" & ".join(_quoted(term) for term in terms))
        if len(holding_all) >= limit:
            return holding_all
        merged = {hit.chunk_id: hit for hit in [*await bm25(_quoted(rarest[0])), *holding_all]}
        return sorted(merged.values(), key=lambda hit: (-hit.score, hit.chunk_id))[:limit]

    async def _bm25(
        self,
        principal: Principal,
        filters: SearchFilters,
        terms: Sequence[Term],
        corpus: Corpus,
        config: str | Sequence[str],
        required: str | None,
        limit: int,
        scored: int,
        k1: float,
        b: float,
        candidates: str,
    ) -> list[Ranked]:
        """BM25 with all `terms` of at most `scored` chunks matching the tsquery `candidates`, best `limit` first."""
        matches = select(Chunk.id, Chunk.search_vector, Chunk.token_count).where(
            Chunk.org_id == principal.org_id,
            Chunk.search_vector.op("@@")(cast(candidates, TSQUERY)),
            _live(principal, filters),
        )
        if required:
            matches = matches.where(_matching(config, required))
        found = matches.limit(scored).cte("matches")
        lexemes = bindparam("lexemes", [term.lexeme for term in terms], type_=ARRAY(Text))
        # Only the query's lexemes of each candidate, picked inside the tsvector (mark them with weight A, keep the
        # A's) rather than unnesting every lexeme of every candidate and filtering the rows.
        marked = func.setweight(found.c.search_vector, literal_column("'A'"), lexemes)
        query_lexemes = func.ts_filter(marked, literal_column("'{a}'"))
        occurrences = func.unnest(query_lexemes).table_valued("lexeme", "positions").lateral("occurrences")
        weights = (
            func.unnest(lexemes, bindparam("idfs", [term.idf for term in terms], type_=ARRAY(Float)))
            .table_valued("lexeme", "idf")
            .render_derived("weights")
        )
        frequency = func.cardinality(occurrences.c.positions)
        length = 1 - b + b * found.c.token_count / corpus.average_tokens
        score = func.sum(weights.c.idf * frequency * (k1 + 1) / (frequency + k1 * length)).label("score")
        statement = (
            select(found.c.id, score)
            .select_from(found.join(occurrences, true()).join(weights, weights.c.lexeme == occurrences.c.lexeme))
            .group_by(found.c.id)
            .order_by(score.desc(), found.c.id)
            .limit(limit)
        )
        return [Ranked(chunk_id, float(value)) for chunk_id, value in (await self.session.execute(statement)).all()]

    async def vector(
        self,
        principal: Principal,
        filters: SearchFilters,
        embedding: list[float],
        *,
        config: str | Sequence[str],
        required: str | None,
        limit: int,
        exact: bool,
        ef_search: int,
    ) -> list[Ranked]:
        """Nearest chunks by cosine distance: HNSW with iterative scans (filters are applied while the graph is
        walked, so they do not starve the result), or an exact scan of the organization's chunks. `required`
        phrases and negations hold here too."""
        distance = Chunk.embedding.cosine_distance(embedding)
        candidates = select(Chunk.id, distance.label("distance")).where(
            Chunk.org_id == principal.org_id, _live(principal, filters)
        )
        if required:
            candidates = candidates.where(_matching(config, required))
        if exact:
            # Materialised, the scan cannot be answered from the HNSW index: every candidate is measured.
            scored = candidates.cte("scored").prefix_with("MATERIALIZED")
            statement: Select[Any] = select(scored.c.id, scored.c.distance).order_by(scored.c.distance).limit(limit)
        else:
            await self.session.execute(select(func.set_config("hnsw.ef_search", str(max(ef_search, limit)), True)))
            await self.session.execute(select(func.set_config("hnsw.iterative_scan", "relaxed_order", True)))
            statement = candidates.order_by(distance).limit(limit)
        rows = (await self.session.execute(statement)).all()
        # A relaxed-order scan may return neighbours slightly out of order.
        return sorted((Ranked(chunk_id, 1.0 - float(value)) for chunk_id, value in rows), key=lambda hit: -hit.score)

    async def hits(self, chunk_ids: Sequence[UUID], *, highlight: str | None) -> dict[UUID, Any]:
        """The chunks to show, with their document and a passage where `highlight` (a tsquery) is marked with
        \\ue000 … \\ue001 by each chunk's configuration; `paired` says whether its index read CJK pairs, which that
        passage cannot mark."""
        if highlight:
            snippet = func.ts_headline(
                cast(Chunk.search_config, REGCONFIG),
                Chunk.text,
                cast(highlight, TSQUERY),
                "StartSel=\ue000, StopSel=\ue001, MaxWords=40, MinWords=20, MaxFragments=2, FragmentDelimiter=\u2026 ",
            )
        else:
            snippet = func.left(Chunk.text, 300)
        statement = (
            select(
                Chunk.id,
                Chunk.document_id,
                Chunk.page_start,
                Chunk.page_end,
                Chunk.ordinal,
                Chunk.text,
                snippet.label("snippet"),
                Chunk.search_text.is_not(None).label("paired"),
                Document.title,
                Document.kind,
                Document.source_url,
            )
            .join(Document, Document.id == Chunk.document_id)
            .where(Chunk.id.in_(chunk_ids))
        )
        return {row.id: row for row in (await self.session.execute(statement)).all()}

    async def log(self, *, query: str, **values: Any) -> None:
        await self.session.execute(
            insert(SearchQuery).values(query=query, normalized=normalized_query(query), **values)
        )


def _live(principal: Principal, filters: SearchFilters) -> Any:
    """Chunks of the live version of the documents the principal sees that pass the filters."""
    documents = select(Document.id, Document.version).where(
        Document.org_id == principal.org_id, Document.version > 0, sees_document(principal)
    )
    if filters.document_ids:
        documents = documents.where(Document.id.in_(filters.document_ids))
    if filters.tags is not None and filters.tags.any:
        documents = documents.where(Document.tags.overlap(filters.tags.any))
    if filters.tags is not None and filters.tags.all:
        documents = documents.where(Document.tags.contains(filters.tags.all))
    if filters.metadata:
        documents = documents.where(Document.meta.contains(filters.metadata))
    if filters.file_types:
        documents = documents.where(Document.kind.in_(filters.file_types))
    if filters.created_after is not None:
        documents = documents.where(Document.created_at >= filters.created_after)
    if filters.created_before is not None:
        documents = documents.where(Document.created_at < filters.created_before)
    return tuple_(Chunk.document_id, Chunk.version).in_(documents)


def _matching(config: str | Sequence[str], query: str) -> Any:
    """Chunks that satisfy a web-search style query (phrases, negations) as analysed with their own configuration,
    among `config`. One indexable condition per configuration, so the GIN index still finds them."""
    return or_(
        *(
            (Chunk.search_config == name)
            & Chunk.search_vector.op("@@")(func.websearch_to_tsquery(cast(name, REGCONFIG), query))
            for name in _names(config)
        )
    )


def _names(config: str | Sequence[str]) -> list[str]:
    """One configuration or several, as a list."""
    return [config] if isinstance(config, str) else list(config)


def any_of(terms: Sequence[Term]) -> str:
    """A tsquery matching any of the lexemes, taken as they are (already normalised by the configuration)."""
    return " | ".join(_quoted(term) for term in terms)


def _quoted(term: Term) -> str:
    return "'" + term.lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def _rarest(terms: Sequence[Term], budget: int) -> list[Term]:
    """The rarest terms, rarest first, while the chunks holding them add up to at most `budget` (at least one)."""
    chosen: list[Term] = []
    total = 0
    for term in sorted(terms, key=lambda term: (term.chunks, term.lexeme)):
        if chosen and total + term.chunks > budget:
            break
        chosen.append(term)
        total += term.chunks
    return chosen
