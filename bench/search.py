"""Search latency and HNSW recall: `python bench/search.py` (`--small` for a quick run).

Latency. p50/p95 of `POST /api/v1/search` in `keyword`, `vector` and `hybrid` mode, timed by this script around
each request to a real `folio serve` (one uvicorn worker, embedded PostgreSQL, default settings unless stated):
authentication, query embedding, both SQL sides, fusion, highlighting and the search log are all in the figure.
Requests are sequential (latency, not throughput), `top_k=10`, each mode warmed up with queries that are not
measured. The organization holds 10,000 chunks, then 100,000 (the same corpus, 90,000 more); vector search is
measured both exact and through HNSW at each size by restarting the server with `FOLIO_SEARCH__EXACT_BELOW`
(the default, 20,000, searches 10k exactly and 100k through HNSW; 0 forces HNSW at 10k; 10^9 forces an exact
scan at 100k). 1M chunks are not measured: see the table's last note.

Recall@10. For each query, the 10 hits of `vector` mode through HNSW (the server's own settings: ef_search 100,
iterative scans, 100 candidates) against the 10 of an exact scan, both through the API; the mean. The same is
measured in-process with `SearchRepository.vector` (the server's SQL) for larger `ef_search`, to show what a
higher setting would buy.

The corpus is built in the database, not ingested (embedding 100k chunks through ingestion takes over an hour
here). An account is registered through the API; its organization gets `documents` rows (version 1, ready) and
`chunks` rows written with COPY, then the statistics BM25 needs through `SearchRepository.count_version` for
every document, as publishing a document version does. The 10k are copied into the table with its HNSW index in
place; for the 90k more, the index is dropped and created again afterwards with the migration's definition
(m = 16, ef_construction = 64), as a bulk loader would, with `maintenance_work_mem` large enough for the graph;
both timings are reported.

Text (what BM25 reads). Words come from the embedding model's WordPiece vocabulary (21,700 whole words, in the
vocabulary's order, which follows corpus frequency: "the", "of", "and", ...), drawn with a Zipf–Mandelbrot law
(rank + 2.7, exponent 1) — English's long tail and stop words. One word in five instead comes from the chunk's
topic (300 topics of 120 mid- to low-frequency words, Zipf inside the topic), as real text has bursty, topical
terms, so IDF separates common from rare words and a query's words match few or many chunks as on real text.
Sentences of 8–24 words, chunks of 90–190 words (~150 model tokens, every word being one token), documents of
5–35 chunks, 85 % of them on the document's topic.

Vectors (what HNSW reads). Real prose, not the generated text, is embedded with `LocalMiniLM.embed_sync`: the
~5,000 docstring paragraphs of this interpreter's standard library (PSF licence, read from its source with `ast`
at run time, nothing copied; topic = top-level module). Embeddings of the generated word salad would be the wrong
model of a real corpus: they all sit close together (mean cosine 0.35 between unrelated chunks, 0.05–0.10 for
real prose) and a query's nearest neighbours are barely nearer than the rest, which makes a graph index look far
worse than on real text — measured while building this script on 5.3k vectors, HNSW recall@10 at ef_search 40
was 0.74 for embeddings of generated text against 0.99 for the docstrings (and 0.995 at ef_search 100 on BEIR
SciFact's real abstracts and claims, bench/retrieval_eval.py). Every chunk's vector is derived from the real
ones: a Dirichlet mix of three real vectors of its topic (the first its document's anchor, so a document's chunks
resemble each other), plus noise along a random combination of real vectors' deviations from their mean (the
directions real embeddings vary in) and a little of that mean direction; the two amounts are fitted so that
derived vectors have the real ones' mean cosine within a topic and across topics (reported in the table). Then
each real vector replaces one chunk's derived vector on its topic. Uniform random vectors would be wrong twice
over: in 384 dimensions they are all nearly orthogonal (a query's neighbours all at the same distance), and they
lack the shared direction and topical clusters that decide how a graph index behaves. On the docstrings, vectors
derived this way from 1,500 of them gave recall@10 0.987 at ef_search 40 against 0.991 for the real ones: a
slightly pessimistic stand-in.

Queries: the first sentences of a few hundred docstring paragraphs held out of the corpus ("Return the number of
items in the queue"-like English, never in the corpus); the server embeds each one per request, and the same
words are ranked by BM25 over the generated text.

Prints a table and records it in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import hashlib
import os
import platform
import re
import shutil
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
import httpx
import numpy as np
from pgvector.asyncpg import register_vector
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from folio.auth.principal import Principal
from folio.db import new_id, to_async_url
from folio.embedded_postgres import EmbeddedPostgres
from folio.embeddings.local import LocalMiniLM
from folio.embeddings.tokenizer import load_tokenizer
from folio.search.repository import SearchRepository
from folio.search.schemas import SearchFilters
from folio.settings import EmbeddingSettings, SearchSettings

sys.path.insert(0, str(Path(__file__).parent))
from results import folio_server, record

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Search latency and HNSW recall"
MODES = ("keyword", "vector", "hybrid")
TOPICS, TOPIC_WORDS, TOPIC_SHARE = 300, 120, 0.2
ZIPF_SHIFT, ZIPF_EXPONENT = 2.7, 1.0
# Derived vectors: Dirichlet weights of the three real vectors mixed (the first is the document's anchor), and how
# many real deviations make up the direction of the noise.
MIX_ALPHA = np.array([0.6, 0.3, 0.3])
NOISE_DIRECTIONS = 8
# The migration's index (pgvector defaults m = 16, ef_construction = 64).
HNSW_INDEX = "CREATE INDEX ix_chunks_embedding_hnsw ON chunks USING hnsw (embedding vector_cosine_ops)"
GOAL_HYBRID_P95_MS, GOAL_RECALL = 150.0, 0.95
EXACT_ALWAYS = 10**9


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# The corpus.


@dataclass
class Language:
    """Words in frequency order with Zipf weights, and topics of words."""

    words: np.ndarray[Any, np.dtype[np.object_]]
    weights: np.ndarray[Any, np.dtype[np.float64]]
    topics: np.ndarray[Any, np.dtype[np.int64]]
    topic_weights: np.ndarray[Any, np.dtype[np.float64]]

    @classmethod
    def build(cls, rng: np.random.Generator) -> Language:
        vocabulary = sorted(load_tokenizer().get_vocab().items(), key=lambda item: item[1])
        words = [w for w, _ in vocabulary if w.isascii() and w.isalpha() and (len(w) > 1 or w in "ai")]
        ranks = np.arange(len(words), dtype=np.float64)
        weights = 1 / (ranks + ZIPF_SHIFT) ** ZIPF_EXPONENT
        # Topic words: anything but the few hundred commonest words (which carry no topic).
        topics = np.stack([rng.choice(np.arange(300, len(words)), TOPIC_WORDS, replace=False) for _ in range(TOPICS)])
        topic_weights = 1 / np.arange(1, TOPIC_WORDS + 1, dtype=np.float64) ** 0.8
        return cls(np.array(words, dtype=object), weights / weights.sum(), topics, topic_weights / topic_weights.sum())

    def draw(self, rng: np.random.Generator, topics: np.ndarray[Any, Any], share: float) -> np.ndarray[Any, Any]:
        """One word per entry of `topics` (the topic each word is written on): Zipf, or from the topic."""
        common = rng.choice(len(self.words), len(topics), p=self.weights)
        topical = self.topics[topics, rng.choice(TOPIC_WORDS, len(topics), p=self.topic_weights)]
        return np.where(rng.random(len(topics)) < share, topical, common)


@dataclass
class Corpus:
    texts: list[str]
    tokens: np.ndarray[Any, np.dtype[np.int64]]
    topic: np.ndarray[Any, np.dtype[np.int64]]  # per chunk
    document: np.ndarray[Any, np.dtype[np.int64]]  # per chunk: index of its document
    ordinal: np.ndarray[Any, np.dtype[np.int64]]
    document_topic: np.ndarray[Any, np.dtype[np.int64]]  # per document
    vectors: np.ndarray[Any, np.dtype[np.float32]] = field(default_factory=lambda: np.empty((0, 384), np.float32))
    real: np.ndarray[Any, np.dtype[np.int64]] = field(default_factory=lambda: np.empty(0, np.int64))
    vector_topic: np.ndarray[Any, np.dtype[np.int64]] = field(default_factory=lambda: np.empty(0, np.int64))
    noise: float = 0.0
    lift: float = 0.0


def make_corpus(language: Language, rng: np.random.Generator, chunks: int) -> Corpus:
    """Documents of 5–35 chunks, each on a topic (Zipf-popular), 85 % of its chunks on it."""
    topic_popularity = 1 / np.arange(1, TOPICS + 1, dtype=np.float64) ** 0.7
    topic_popularity /= topic_popularity.sum()
    topics: list[int] = []
    documents: list[int] = []
    ordinals: list[int] = []
    document_topics: list[int] = []
    while len(topics) < chunks:
        size = min(int(rng.integers(5, 36)), chunks - len(topics))
        main = int(rng.choice(TOPICS, p=topic_popularity))
        for ordinal in range(size):
            topics.append(main if rng.random() < 0.85 else int(rng.integers(TOPICS)))
            documents.append(len(document_topics))
            ordinals.append(ordinal)
        document_topics.append(main)
    lengths = rng.integers(90, 191, size=chunks)
    words = language.words[language.draw(rng, np.repeat(topics, lengths), TOPIC_SHARE)].tolist()
    sentence_lengths = iter(rng.integers(8, 25, size=int(lengths.sum())).tolist())
    questions = iter((rng.random(int(lengths.sum())) < 0.05).tolist())
    texts = []
    start = 0
    for length in lengths.tolist():
        sentences, end = [], start + length
        while start < end:
            stop = min(start + next(sentence_lengths), end)
            sentence = " ".join(words[start:stop])
            sentences.append(sentence[:1].upper() + sentence[1:] + ("?" if next(questions) else "."))
            start = stop
        texts.append(" ".join(sentences))
    # Every word is one WordPiece token of the (uncased) model, and so is each full stop or question mark: the
    # count is exact without tokenizing 100k texts (checked on a sample).
    tokens = [length + text.count(".") + text.count("?") for length, text in zip(lengths.tolist(), texts, strict=True)]
    sample = texts[:200]
    if [len(e.ids) for e in load_tokenizer().encode_batch(sample, add_special_tokens=False)] != tokens[:200]:
        raise SystemExit("token counts of the generated text do not match the model's tokenizer")
    return Corpus(
        texts, np.array(tokens), np.array(topics), np.array(documents), np.array(ordinals), np.array(document_topics)
    )


@dataclass(frozen=True)
class Prose:
    """Paragraphs of real English (the standard library's docstrings), their topics, and held-out queries."""

    paragraphs: list[str]
    topics: np.ndarray[Any, np.dtype[np.int64]]  # index into `names`
    names: list[str]
    queries: list[str]


def standard_library_prose(queries: int, rng: np.random.Generator) -> Prose:
    """Docstring paragraphs of this interpreter's standard library, read from its source with `ast` (nothing is
        imported): 12–200 words of mostly letters. A paragraph's topic is its top-level module (modules with fewer
        than 8 paragraphs share one). Twice `queries` paragraphs are held out; the first sentences of 3–20 words of
    as many of them as needed become the queries."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        if {"test", "tests", "site-packages", "idlelib", "lib2to3"} & set(path.relative_to(root).parts):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        module = path.relative_to(root).parts[0].removesuffix(".py")
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                for paragraph in re.split(r"\n\s*\n", ast.get_docstring(node) or ""):
                    paragraph = " ".join(paragraph.split())
                    prose = sum(c.isalpha() or c in " ,.;:'()-" for c in paragraph) / max(len(paragraph), 1)
                    if 12 <= len(paragraph.split()) <= 200 and prose > 0.93:
                        found.setdefault(paragraph, module)
    paragraphs = sorted(found)
    order = rng.permutation(len(paragraphs)).tolist()
    held = [paragraphs[i] for i in order[: queries * 2]]
    kept = [paragraphs[i] for i in order[queries * 2 :]]
    chosen: list[str] = []
    for paragraph in held:
        sentence = re.split(r"(?<=[.?!])\s", paragraph)[0].rstrip(".")
        if 3 <= len(sentence.split()) <= 20 and sentence not in chosen and not any(sentence in p for p in kept):
            chosen.append(sentence)
    if len(chosen) < queries:
        raise SystemExit(f"only {len(chosen)} query sentences in the standard library's docstrings")
    sizes: dict[str, int] = {}
    for paragraph in kept:
        sizes[found[paragraph]] = sizes.get(found[paragraph], 0) + 1
    names = sorted({module if sizes[module] >= 8 else "(small modules)" for module in sizes})
    topics = [names.index(found[p] if sizes[found[p]] >= 8 else "(small modules)") for p in kept]
    return Prose(kept, np.array(topics), names, chosen[:queries])


def embed_corpus(corpus: Corpus, model: LocalMiniLM, rng: np.random.Generator, prose: Prose) -> float:
    """Real vectors of the prose paragraphs, derived ones for every chunk (see the module's docstring), then each
    real vector in place of one chunk of its topic; the seconds the model took."""
    start = time.perf_counter()
    real = model.embed_sync(prose.paragraphs)
    seconds = time.perf_counter() - start
    # A chunk's vector topic follows its text topic (so a document's chunks stay together on both sides).
    topics = corpus.topic % len(prose.names)
    pool = {int(t): np.flatnonzero(prose.topics == t) for t in np.unique(prose.topics)}
    # A document's anchor: one real vector of its topic; its off-topic chunks have none.
    document_anchor = np.array([int(rng.choice(pool[int(t) % len(prose.names)])) for t in corpus.document_topic])
    on_topic = corpus.topic == corpus.document_topic[corpus.document]
    anchors = np.where(on_topic, document_anchor[corpus.document], -1)
    corpus.noise, corpus.lift = calibrate(real, prose.topics, pool, topics, corpus.document, anchors)
    corpus.vectors = derive(real, pool, topics, anchors, corpus.noise, corpus.lift, rng)
    placed = []
    for topic, members in pool.items():
        chunks = np.flatnonzero(topics == topic)
        count = min(len(members), len(chunks))
        targets = rng.choice(chunks, count, replace=False)
        corpus.vectors[targets] = real[members[:count]]
        placed.extend(targets.tolist())
    corpus.real = np.array(sorted(placed))
    corpus.vector_topic = topics
    return seconds


def derive(
    real: np.ndarray[Any, Any],
    pool: dict[int, np.ndarray[Any, Any]],
    topics: np.ndarray[Any, Any],
    anchors: np.ndarray[Any, Any],
    noise: float,
    lift: float,
    rng: np.random.Generator,
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """A vector per entry of `topics`: a Dirichlet mix of three real vectors of the topic (the first its anchor,
    where it has one), plus `noise` × its norm along a random combination of real vectors' deviations from their
    mean (so the noise stays in the directions real embeddings vary in) and `lift` × its norm along that mean
    (the direction all of them share, which mixing and noise dilute), normalised."""
    mean = real.mean(axis=0)
    deviations = real - mean
    mean /= np.linalg.norm(mean)
    vectors = np.empty((len(topics), real.shape[1]), np.float32)
    for first in range(0, len(topics), 10_000):
        batch = topics[first : first + 10_000]
        picks = np.empty((len(batch), 3), np.int64)
        for topic in np.unique(batch).tolist():
            rows = batch == topic
            picks[rows] = rng.choice(pool[topic], (int(rows.sum()), 3))
        anchor = anchors[first : first + 10_000]
        picks[anchor >= 0, 0] = anchor[anchor >= 0]
        mixes = np.einsum("nk,nkd->nd", rng.dirichlet(MIX_ALPHA, len(batch)), real[picks])
        directions = np.einsum(
            "nk,nkd->nd",
            rng.standard_normal((len(batch), NOISE_DIRECTIONS)),
            deviations[rng.integers(len(real), size=(len(batch), NOISE_DIRECTIONS))],
        )
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        norms = np.linalg.norm(mixes, axis=1, keepdims=True)
        mixes += noise * norms * directions + lift * norms * mean
        vectors[first : first + len(batch)] = mixes / np.linalg.norm(mixes, axis=1, keepdims=True)
    return vectors


def pair_similarity(
    vectors: np.ndarray[Any, Any], topics: np.ndarray[Any, Any], groups: np.ndarray[Any, Any], seed: int = 0
) -> tuple[float, float]:
    """Mean cosine of random pairs from different groups (documents): on the same topic, on different topics."""
    rng = np.random.default_rng(seed)
    left, right = rng.integers(len(vectors), size=(2, 50_000))
    pairs = groups[left] != groups[right]
    same = pairs & (topics[left] == topics[right])
    other = pairs & (topics[left] != topics[right])
    sims = np.einsum("ij,ij->i", vectors[left], vectors[right])
    return float(sims[same].mean()), float(sims[other].mean())


def calibrate(
    real: np.ndarray[Any, Any],
    real_topics: np.ndarray[Any, Any],
    pool: dict[int, np.ndarray[Any, Any]],
    topics: np.ndarray[Any, Any],
    documents: np.ndarray[Any, Any],
    anchors: np.ndarray[Any, Any],
) -> tuple[float, float]:
    """The noise and lift whose derived vectors come closest to the real ones' mean cosine on one topic and
    across topics (least squares over a grid; the same sample of 5,000 chunks at every step)."""
    target = pair_similarity(real, real_topics, np.arange(len(real)))
    sample = np.random.default_rng(1).choice(len(topics), min(5_000, len(topics)), replace=False)
    best, best_error = (0.0, 0.0), float("inf")
    for noise in np.linspace(0.0, 1.5, 16).tolist():
        for lift in np.linspace(0.0, 0.6, 7).tolist():
            derived = derive(real, pool, topics[sample], anchors[sample], noise, lift, np.random.default_rng(2))
            measured = pair_similarity(derived, topics[sample], documents[sample])
            error = sum((m - t) ** 2 for m, t in zip(measured, target, strict=True))
            if error < best_error:
                best, best_error = (noise, lift), error
    return best


def similarity_profile(corpus: Corpus) -> dict[str, float]:
    """Mean cosine of pairs of chunks of different documents: real vectors on one topic / on two, and the same for
    derived vectors."""
    real = np.zeros(len(corpus.texts), bool)
    real[corpus.real] = True
    profile = {}
    for name, members in (("real", np.flatnonzero(real)), ("derived", np.flatnonzero(~real))):
        same, other = pair_similarity(corpus.vectors[members], corpus.vector_topic[members], corpus.document[members])
        profile[f"{name}, same topic"] = same
        profile[f"{name}, other topics"] = other
    return profile


# The database: documents and chunks written directly, as a bulk loader would.


@dataclass
class Load:
    chunks: int
    copy_seconds: float
    statistics_seconds: float
    index_seconds: float | None  # None: the index stayed in place during the copy


async def load(
    url: str,
    corpus: Corpus,
    org_id: UUID,
    user_id: UUID,
    first: int,
    last: int,
    *,
    rebuild_index: bool,
) -> Load:
    """Chunks [first, last) and their documents (chunk ranges never split a document: see `prefix`)."""
    connection = await asyncpg.connect(url)
    await register_vector(connection)
    try:
        document_ids = {}
        document_rows = []
        sizes = np.bincount(corpus.document[first:last])
        now = datetime.now(UTC)
        for document in sorted(set(corpus.document[first:last].tolist())):
            document_id = new_id()
            document_ids[document] = document_id
            title = f"Generated report {document}"
            document_rows.append(
                (
                    document_id,
                    org_id,
                    user_id,
                    title,
                    f"report-{document}.txt",
                    "text",
                    "ready",
                    f"bench/{document_id}",
                    0,
                    hashlib.sha256(title.encode()).hexdigest(),
                    1,
                    1,
                    0,
                    int(sizes[document]),
                    now,
                )
            )
        chunk_rows = []
        for chunk in range(first, last):
            text = corpus.texts[chunk]
            chunk_rows.append(
                (
                    new_id(),
                    org_id,
                    document_ids[int(corpus.document[chunk])],
                    1,
                    int(corpus.ordinal[chunk]),
                    text,
                    0,
                    len(text),
                    1,
                    1,
                    int(corpus.tokens[chunk]),
                    corpus.vectors[chunk],
                )
            )
        start = time.perf_counter()
        if rebuild_index:
            await connection.execute("DROP INDEX ix_chunks_embedding_hnsw")
        await connection.copy_records_to_table(
            "documents",
            records=document_rows,
            columns=[
                "id",
                "org_id",
                "created_by",
                "title",
                "filename",
                "kind",
                "status",
                "storage_key",
                "size_bytes",
                "sha256",
                "version",
                "page_count",
                "char_count",
                "chunk_count",
                "processed_at",
            ],
        )
        await connection.copy_records_to_table(
            "chunks",
            records=chunk_rows,
            columns=[
                "id",
                "org_id",
                "document_id",
                "version",
                "ordinal",
                "text",
                "start_char",
                "end_char",
                "page_start",
                "page_end",
                "token_count",
                "embedding",
            ],
        )
        copy_seconds = time.perf_counter() - start
        index_seconds = None
        if rebuild_index:
            start = time.perf_counter()
            await connection.execute("SET maintenance_work_mem = '2GB'")
            await connection.execute("SET max_parallel_maintenance_workers = 1")  # 2 cores: leader + 1
            await connection.execute(HNSW_INDEX)
            index_seconds = time.perf_counter() - start
    finally:
        await connection.close()

    start = time.perf_counter()
    engine = create_async_engine(to_async_url(url))
    try:
        for document_id in document_ids.values():
            # One transaction per document, as publishing a version is.
            async with AsyncSession(engine) as session, session.begin():
                await SearchRepository(session).count_version(org_id, document_id, 1, sign=1)
    finally:
        await engine.dispose()
    statistics_seconds = time.perf_counter() - start
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM ANALYZE chunks")
        await connection.execute("VACUUM ANALYZE documents")
        await connection.execute("VACUUM ANALYZE search_terms")
    finally:
        await connection.close()
    return Load(last - first, copy_seconds, statistics_seconds, index_seconds)


def prefix(corpus: Corpus, chunks: int) -> int:
    """The end of the last whole document within the first `chunks` chunks."""
    end = chunks
    while 0 < end < len(corpus.texts) and corpus.document[end] == corpus.document[end - 1]:
        end -= 1
    return end


# The server.


@contextmanager
def server(data_dir: Path, exact_below: int | None) -> Iterator[str]:
    settings = {} if exact_below is None else {"FOLIO_SEARCH__EXACT_BELOW": str(exact_below)}
    with folio_server(data_dir, settings) as (_, base):
        yield base


@dataclass(frozen=True)
class Account:
    user_id: UUID
    org_id: UUID
    key: str


def register(base: str) -> Account:
    password = "benchmark passphrase 2026"
    registered = httpx.post(
        f"{base}/api/v1/auth/register", json={"email": "search@example.com", "password": password, "name": "S"}
    )
    registered.raise_for_status()
    headers = {"Authorization": f"Bearer {registered.json()['access_token']}"}
    me = httpx.get(f"{base}/api/v1/auth/me", headers=headers).json()
    key = httpx.post(f"{base}/api/v1/api-keys", json={"name": "bench", "scopes": ["search"]}, headers=headers)
    key.raise_for_status()
    return Account(UUID(me["user"]["id"]), UUID(me["org"]["id"]), key.json()["secret"])


# Measuring.


@dataclass
class Timing:
    millis: list[float]
    hits: list[list[str]]

    def percentile(self, share: float) -> float:
        ordered = sorted(self.millis)
        return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(base: str, key: str, mode: str, queries: Sequence[str], warmup: Sequence[str]) -> Timing:
    with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120) as client:

        def search(query: str) -> tuple[float, list[str]]:
            start = time.perf_counter()
            response = client.post("/api/v1/search", json={"query": query, "mode": mode, "top_k": 10})
            millis = (time.perf_counter() - start) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{mode} search: {response.status_code} {response.text[:500]}")
            return millis, [hit["chunk_id"] for hit in response.json()["items"]]

        for query in warmup:
            search(query)
        timing = Timing([], [])
        for query in queries:
            millis, hits = search(query)
            timing.millis.append(millis)
            timing.hits.append(hits)
    return timing


def recall_at_10(approximate: Sequence[Sequence[str]], exact: Sequence[Sequence[str]]) -> float:
    shares = [len(set(a[:10]) & set(e[:10])) / len(e[:10]) for a, e in zip(approximate, exact, strict=True) if e]
    return sum(shares) / len(shares)


async def recall_by_ef_search(
    url: str, org_id: UUID, embeddings: np.ndarray[Any, Any], ef_values: Sequence[int], settings: SearchSettings
) -> dict[int, float]:
    """Recall@10 of the server's HNSW statement (`SearchRepository.vector`) against its exact one, per ef_search."""
    engine: AsyncEngine = create_async_engine(to_async_url(url))
    config, candidates = settings.text_search_config, settings.candidates
    try:
        exact: list[list[str]] = []
        found: dict[int, list[list[str]]] = {ef: [] for ef in ef_values}
        for embedding in embeddings:
            vector = embedding.tolist()
            async with AsyncSession(engine) as session, session.begin():
                repository = SearchRepository(session)
                hits = await repository.vector(
                    Principal(org_id=org_id, scopes=frozenset()),
                    SearchFilters(),
                    vector,
                    config=config,
                    required=None,
                    limit=candidates,
                    exact=True,
                    ef_search=0,
                )
                exact.append([str(hit.chunk_id) for hit in hits[:10]])
            for ef in ef_values:
                async with AsyncSession(engine) as session, session.begin():
                    hits = await SearchRepository(session).vector(
                        Principal(org_id=org_id, scopes=frozenset()),
                        SearchFilters(),
                        vector,
                        config=config,
                        required=None,
                        limit=candidates,
                        exact=False,
                        ef_search=ef,
                    )
                    found[ef].append([str(hit.chunk_id) for hit in hits[:10]])
        return {ef: recall_at_10(found[ef], exact) for ef in ef_values}
    finally:
        await engine.dispose()


@dataclass
class Scale:
    chunks: int
    load: Load
    timings: dict[str, Timing] = field(default_factory=dict)  # "keyword", "vector exact", "hybrid HNSW", ...
    recall: float = float("nan")
    recall_by_ef: dict[int, float] = field(default_factory=dict)
    size_mib: float = 0.0


def measure_scale(
    data_dir: Path,
    account: Account,
    queries: Sequence[str],
    warmup: Sequence[str],
    scale: Scale,
    hnsw_by_default: bool,
) -> None:
    """Keyword once; vector and hybrid exact and through HNSW (two server runs)."""
    configurations: list[tuple[int | None, str]] = (
        [(None, "HNSW"), (EXACT_ALWAYS, "exact")] if hnsw_by_default else [(None, "exact"), (0, "HNSW")]
    )
    for exact_below, kind in configurations:
        label = "default" if exact_below is None else f"FOLIO_SEARCH__EXACT_BELOW={exact_below}"
        say(f"{scale.chunks:,} chunks: folio serve ({label}: vector search {kind})")
        with server(data_dir, exact_below) as base:
            for mode in MODES:
                if mode == "keyword" and exact_below is not None:
                    continue  # keyword search does not depend on it
                name = mode if mode == "keyword" else f"{mode} {kind}"
                scale.timings[name] = timing = measure(base, account.key, mode, queries, warmup)
                say(f"  {name}: p50 {timing.percentile(0.5):.1f} ms, p95 {timing.percentile(0.95):.1f} ms")
    scale.recall = recall_at_10(scale.timings["vector HNSW"].hits, scale.timings["vector exact"].hits)
    say(f"  recall@10 of HNSW against exact, through the API: {scale.recall:.3f}")


async def table_size(url: str) -> float:
    connection = await asyncpg.connect(url)
    try:
        size: int = await connection.fetchval("SELECT pg_total_relation_size('chunks')")
    finally:
        await connection.close()
    return size / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="2k and 10k chunks, 60 queries: checks it works")
    parser.add_argument("--sizes", type=int, nargs="+", help="organization sizes in chunks (default 10000 100000)")
    parser.add_argument("--queries", type=int, help="measured queries per mode (default 300)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured queries per mode before measuring")
    parser.add_argument("--ef-search", type=int, nargs="*", default=[100, 200, 400], help="in-process recall sweep")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    args.sizes = sorted(args.sizes or ([2_000, 10_000] if args.small else [10_000, 100_000]))
    args.queries = args.queries or (60 if args.small else 300)
    settings = SearchSettings()
    rng = np.random.default_rng(args.seed)

    say("generating the corpus")
    started = time.perf_counter()
    language = Language.build(rng)
    corpus = make_corpus(language, rng, args.sizes[-1])
    generate_seconds = time.perf_counter() - started
    prose = standard_library_prose(args.queries + args.warmup, rng)
    queries, warmup = prose.queries[: args.queries], prose.queries[args.queries :]
    say(
        f"{len(corpus.texts):,} chunks in {len(corpus.document_topic):,} documents, {len(prose.paragraphs):,} "
        f"docstring paragraphs in {len(prose.names)} topics, {generate_seconds:.0f} s; embedding"
    )
    model = LocalMiniLM(EmbeddingSettings())
    embed_seconds = embed_corpus(corpus, model, rng, prose)
    profile = similarity_profile(corpus)
    say(
        f"{len(prose.paragraphs):,} real vectors in {embed_seconds:.0f} s, noise {corpus.noise:.1f}, lift "
        f"{corpus.lift:.1f}; cosine profile {profile}"
    )
    model.embed_sync(warmup[:5])
    query_embed_ms = []
    query_vectors = np.empty((len(queries), 384), np.float32)
    for position, query in enumerate(queries):
        start = time.perf_counter()
        query_vectors[position] = model.embed_sync([query])[0]
        query_embed_ms.append((time.perf_counter() - start) * 1000)
    query_embed_ms.sort()
    del model

    work = Path(tempfile.mkdtemp(prefix="folio-bench-search-"))
    data_dir = work / "data"
    data_dir.mkdir()
    scales: list[Scale] = []
    try:
        database = EmbeddedPostgres(data_dir / "postgres")
        try:
            with server(data_dir, None) as base:
                account = register(base)
            loaded = 0
            for size in args.sizes:
                end = prefix(corpus, size)
                say(f"loading chunks {loaded:,}–{end:,}")
                result = asyncio.run(
                    load(
                        database.url,
                        corpus,
                        account.org_id,
                        account.user_id,
                        loaded,
                        end,
                        rebuild_index=loaded > 0,
                    )
                )
                say(
                    f"  copy {result.copy_seconds:.1f} s, statistics {result.statistics_seconds:.1f} s"
                    + (f", HNSW build {result.index_seconds:.1f} s" if result.index_seconds is not None else "")
                )
                loaded = end
                scale = Scale(end, result)
                scale.size_mib = asyncio.run(table_size(database.url))
                measure_scale(data_dir, account, queries, warmup, scale, hnsw_by_default=end > settings.exact_below)
                say("  recall@10 in-process by ef_search")
                scale.recall_by_ef = asyncio.run(
                    recall_by_ef_search(database.url, account.org_id, query_vectors, args.ef_search, settings)
                )
                say(f"  {scale.recall_by_ef}")
                scales.append(scale)
        finally:
            database.release()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table = render(args, scales, profile, len(prose.paragraphs), embed_seconds, generate_seconds, query_embed_ms)
    print(table)
    if not args.no_record:
        record(SECTION, table)


def render(
    args: argparse.Namespace,
    scales: list[Scale],
    profile: dict[str, float],
    real: int,
    embed_seconds: float,
    generate_seconds: float,
    query_embed_ms: list[float],
) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    command = "python bench/search.py" + (" --small" if args.small else "")
    rows = []
    for scale in scales:
        for name, timing in scale.timings.items():
            goal = ""
            if name == "hybrid HNSW" and scale is scales[-1]:
                met = timing.percentile(0.95) < GOAL_HYBRID_P95_MS
                goal = f"p95 < {GOAL_HYBRID_P95_MS:.0f} ms — " + ("met" if met else "**not met**")
            rows.append(
                f"| {scale.chunks:,} | {name} | {timing.percentile(0.5):.1f} | {timing.percentile(0.95):.1f} | "
                f"{max(timing.millis):.1f} | {goal} |"
            )
    recall_rows = []
    for scale in scales:
        verdict = "met" if scale.recall >= GOAL_RECALL else "**not met**"
        ef = SearchSettings().ef_search
        recall_rows.append(
            f"| {scale.chunks:,} | API (ef_search {ef}) | {scale.recall:.3f} | ≥ {GOAL_RECALL} — {verdict} |"
        )
        for candidates, value in scale.recall_by_ef.items():
            recall_rows.append(f"| {scale.chunks:,} | in-process, ef_search {candidates} | {value:.3f} | |")
    load_rows = []
    for scale in scales:
        load = scale.load
        how = (
            "COPY into the indexed table"
            if load.index_seconds is None
            else f"HNSW index dropped, COPY, index re-created in {load.index_seconds:.0f} s"
        )
        load_rows.append(
            f"| {scale.chunks:,} | {load.chunks:,} | {how} | {load.copy_seconds:.1f} s "
            f"({load.chunks / load.copy_seconds:,.0f} chunks/s) | {load.statistics_seconds:.1f} s | "
            f"{scale.size_mib:,.0f} MiB |"
        )
    big = scales[-1]
    recall_met = all(scale.recall >= GOAL_RECALL for scale in scales)
    summary = (
        f"Goals: HNSW recall@10 ≥ {GOAL_RECALL} — "
        + ("met" if recall_met else "**not met**")
        + " ("
        + ", ".join(f"{scale.recall:.3f} at {scale.chunks:,}" for scale in scales)
        + ")."
    )
    if {"hybrid HNSW", "keyword", "vector HNSW"} <= set(big.timings):
        hybrid_p95 = big.timings["hybrid HNSW"].percentile(0.95)
        summary += (
            f" Hybrid p95 < {GOAL_HYBRID_P95_MS:.0f} ms at {big.chunks:,} chunks — "
            + ("met" if hybrid_p95 < GOAL_HYBRID_P95_MS else "**not met**")
            + f" ({hybrid_p95:,.0f} ms); on their own, keyword mode p95 "
            f"{big.timings['keyword'].percentile(0.95):,.0f} ms and vector mode through HNSW p95 "
            f"{big.timings['vector HNSW'].percentile(0.95):,.0f} ms (query embedding included)."
        )
    index = big.load.index_seconds or 0.0
    per_chunk = (big.load.copy_seconds + big.load.statistics_seconds) / big.load.chunks
    growth = 1_000_000 / big.chunks
    estimate = (
        f"1M chunks are not measured: at this run's rates, generating them would take "
        f"~{generate_seconds * growth / 60:.0f} min, COPY and BM25 statistics ~{per_chunk * 1_000_000 / 60:.0f} min, "
        f"the HNSW build ~{index * growth * 1.2 / 60:.0f} min (n log n from {index:.0f} s for {big.load.chunks:,}), "
        f"and the `chunks` table would hold ~{big.size_mib * growth / 1024:.0f} GiB: far beyond a few minutes."
    )
    lines = [
        SECTION,
        "",
        f"`{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cpu}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f} at the end (the machine is shared). "
        f"`folio serve` (one uvicorn worker, embedded PostgreSQL, nothing pinned), {args.queries} queries per "
        f"mode after {args.warmup} warm-up queries, sequential, `top_k=10`, timed by the client. Corpus built in the "
        f"database (see the script's docstring): Zipf–Mandelbrot text over the model's vocabulary with topical "
        f"words for BM25; for the vectors, the standard library's {real:,} docstring paragraphs embedded for real "
        f"({embed_seconds:.0f} s) and every other chunk's vector derived from them (mean cosine of chunks of "
        "different documents: "
        + ", ".join(f"{name} {value:.2f}" for name, value in profile.items())
        + "). Queries: held-out docstring first sentences. Query embedding alone, in-process: p50 "
        f"{query_embed_ms[len(query_embed_ms) // 2]:.1f} ms.",
        "",
        "| chunks | mode | p50 ms | p95 ms | max ms | goal |",
        "|---:|---|---:|---:|---:|---|",
        *rows,
        "",
        "HNSW recall@10 against an exact scan, mean over the queries:",
        "",
        "| chunks | HNSW search | recall@10 | goal |",
        "|---:|---|---:|---|",
        *recall_rows,
        "",
        "Loading (asyncpg COPY of `documents` and `chunks`, then `SearchRepository.count_version` per document, "
        "then VACUUM ANALYZE):",
        "",
        "| chunks after | chunks added | how | COPY | BM25 statistics | `chunks` table + indexes |",
        "|---:|---:|---|---:|---:|---:|",
        *load_rows,
        "",
        summary,
        "",
        estimate,
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
