"""Retrieval quality on BEIR SciFact: `python bench/retrieval_eval.py` (`--small` for a quick run).

SciFact (BEIR layout: 5,183 abstracts, 300 test claims with graded qrels) is read at run time from
`/work/shared/eval-data/scifact` (`--data`); it is CC BY-NC, so nothing of it is ever copied into the project,
and everything derived from it lives in a temporary directory (or in `--keep DIR`, outside the repository).

Method. A fresh `folio serve` (embedded PostgreSQL, default settings) ingests every abstract through the API as a
client would: one text file per request, the abstract as its body, the title in the `title` form field (the only
way to give one; Folio uses it when one file is sent) and `{"scifact_id": ...}` as metadata; then the script
waits until no document is pending. `--keep DIR` keeps that data directory and reuses it on the next run (only
missing abstracts are uploaded). Each of the 300 test queries then goes to `POST /api/v1/search` with `top_k=100`
in `keyword`, `vector` and `hybrid` mode, and in a small sweep over what a client may tune per request
(`hybrid.k` in {20, 60}, keyword/vector weights). Hits are chunks: an abstract ranks where its best chunk does
(the first occurrence is kept, later chunks of the same abstract dropped), so 100 hits are ≤ 100 abstracts.
nDCG@10 and recall@100 follow BEIR (pytrec_eval's `ndcg_cut_10` and `recall_100`: linear gain, log2 discount,
ideal ranking from the qrels, mean over the 300 queries; computed here by `ndcg` and `recall`, which
`check_metrics` tests against hand-worked examples at every start).

Diagnostics of the keyword side, with the server's own database (read through the embedded server's socket):
the stored BM25 statistics (`search_terms`, `search_corpora`) are checked against a recount from the live chunks,
and an in-script BM25 (same formula: Lucene IDF, k1 = 1.2, b = 0.75) over PostgreSQL's `english` lexemes first
reproduces the API's keyword ranking from the chunks, then changes one thing at a time — length in lexemes
instead of model tokens, whole abstracts instead of chunks, the title added — so that the distance to the
reference figures is explained rather than guessed. Prints the tables and records them in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
import httpx

from folio.embedded_postgres import EmbeddedPostgres
from folio.embeddings.local import LocalMiniLM
from folio.settings import EmbeddingSettings, SearchSettings

sys.path.insert(0, str(Path(__file__).parent))
from results import folio_server, record
from search import recall_by_ef_search

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Retrieval quality (BEIR SciFact)"
DATA = Path("/work/shared/eval-data/scifact")
EMAIL, PASSWORD = "scifact@example.com", "benchmark passphrase 2026"
K1, B = 1.2, 0.75  # Folio's defaults (FOLIO_SEARCH__BM25_K1 / _B)
# Measured on this machine with the same embedding model (the brief's reference figures, nDCG@10).
REFERENCE = {
    "BM25, bm25s, no stemming": 0.662,
    "BM25, Snowball stemming": 0.686,
    "MiniLM dense": 0.647,
    "RRF of BM25 and dense": 0.684,
}
GOALS = {"keyword": 0.66, "hybrid": 0.69}


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# The data set, read where it lies.


@dataclass(frozen=True)
class Abstract:
    id: str
    title: str
    text: str


def load_corpus(data: Path) -> list[Abstract]:
    with gzip.open(data / "corpus.jsonl.gz", "rt", encoding="utf-8") as lines:
        return [Abstract(row["_id"], row["title"], row["text"]) for row in map(json.loads, lines)]


def load_qrels(data: Path, split: str = "test") -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = defaultdict(dict)
    with (data / "qrels" / f"{split}.tsv").open(encoding="utf-8") as lines:
        next(lines)  # header
        for line in lines:
            query_id, corpus_id, score = line.rstrip("\n").split("\t")
            qrels[query_id][corpus_id] = int(score)
    return dict(qrels)


def load_queries(data: Path, wanted: set[str]) -> dict[str, str]:
    with (data / "queries.jsonl").open(encoding="utf-8") as lines:
        rows = (json.loads(line) for line in lines)
        return {row["_id"]: row["text"] for row in rows if row["_id"] in wanted}


# Metrics (BEIR = pytrec_eval: linear gain, log2 discount, ideal from the qrels).


def ndcg(ranking: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    gains = sorted((grade for grade in relevant.values() if grade > 0), reverse=True)[:k]
    ideal = sum(grade / math.log2(rank + 2) for rank, grade in enumerate(gains))
    if ideal == 0:
        return 0.0
    found = sum(relevant.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:k]) if relevant.get(doc))
    return found / ideal


def recall(ranking: Sequence[str], relevant: dict[str, int], k: int = 100) -> float:
    wanted = {doc for doc, grade in relevant.items() if grade > 0}
    return len(wanted.intersection(ranking[:k])) / len(wanted) if wanted else 0.0


def check_metrics() -> None:
    """Examples worked by hand; exits when one disagrees."""
    cases = [
        # One relevant document at rank 2: 1 / log2(3) = 0.6309.
        (ndcg(["a", "b", "c"], {"b": 1}), 1 / math.log2(3)),
        # Grades 2 (a, rank 3) and 1 (c, rank 1): DCG = 1/1 + 2/2 = 2; ideal = 2/1 + 1/log2(3) = 2.6309.
        (ndcg(["c", "x", "a"], {"a": 2, "c": 1}), 2 / (2 + 1 / math.log2(3))),
        (ndcg(["x", "y"], {"a": 1}), 0.0),
        (ndcg(["a", "b"], {"a": 1, "b": 0}), 1.0),  # grade 0 is not relevant
        (ndcg(["x", "a"], {"a": 1}, k=1), 0.0),  # beyond the cut-off
        (recall(["c", "x", "a"], {"a": 2, "c": 1}, k=2), 0.5),
        (recall(["a", "b"], {"a": 1, "b": 0}), 1.0),
    ]
    for number, (computed, expected) in enumerate(cases, 1):
        if not math.isclose(computed, expected):
            raise SystemExit(f"metric check {number}: {computed} instead of {expected}")


def evaluate(rankings: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> tuple[float, float]:
    """Mean nDCG@10 and recall@100 over every judged query (a query without an answer counts 0)."""
    ndcgs = [ndcg(rankings.get(query, []), relevant) for query, relevant in qrels.items()]
    recalls = [recall(rankings.get(query, []), relevant) for query, relevant in qrels.items()]
    return sum(ndcgs) / len(ndcgs), sum(recalls) / len(recalls)


def first_occurrences(documents: Sequence[str]) -> list[str]:
    """An abstract ranks where its best chunk does: later chunks of the same one are dropped."""
    return list(dict.fromkeys(documents))


# The server.


@contextmanager
def server(data_dir: Path) -> Iterator[str]:
    with folio_server(data_dir) as (_, base):
        yield base


def api_client(base: str) -> httpx.Client:
    """Registers the benchmark's user (or logs in, on a kept data directory) and uses a fresh API key."""
    registered = httpx.post(
        f"{base}/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD, "name": "SciFact"}
    )
    if registered.status_code != 201:
        registered = httpx.post(f"{base}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
        registered.raise_for_status()
    token = registered.json()["access_token"]
    key = httpx.post(
        f"{base}/api/v1/api-keys",
        json={"name": "retrieval-eval", "scopes": ["documents:read", "documents:write", "search"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    key.raise_for_status()
    return httpx.Client(base_url=base, headers={"X-API-Key": key.json()["secret"]}, timeout=httpx.Timeout(300))


def listing(client: httpx.Client, path: str, status: str | None = None, limit: int = 100) -> Iterator[dict[str, Any]]:
    """Every item of a paged list (`limit=1`: the first page only)."""
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        if status:
            params["status"] = status
        page = client.get(path, params=params)
        page.raise_for_status()
        yield from page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None or limit == 1:
            return


# Ingestion through the API.


def upload(client: httpx.Client, abstract: Abstract) -> None:
    response = client.post(
        "/api/v1/documents",
        params={"allow_duplicate": "true"},
        files={"files": (f"scifact-{abstract.id}.txt", abstract.text.encode(), "text/plain")},
        data={"title": abstract.title[:500] or abstract.id, "metadata": json.dumps({"scifact_id": abstract.id})},
    )
    if response.status_code != 202:
        raise SystemExit(f"upload of {abstract.id}: {response.status_code} {response.text[:500]}")


@dataclass(frozen=True)
class Ingested:
    mapping: dict[str, str]  # document id -> SciFact id, for every searchable document
    seconds: float  # first upload to the last job's end
    anomalies: list[str]  # searchable documents whose status is not `ready`, and documents never searchable


def ingest(client: httpx.Client, corpus: Sequence[Abstract]) -> Ingested:
    """Upload what the organization does not have yet and wait until no job is queued or running."""
    have = {doc["metadata"].get("scifact_id") for doc in listing(client, "/api/v1/documents")}
    missing = [abstract for abstract in corpus if abstract.id not in have]
    start = time.time()
    if missing:
        say(f"uploading {len(missing):,} abstracts ({len(have):,} already there)")
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda abstract: upload(client, abstract), missing))
        say(f"uploaded in {time.time() - start:.0f} s; waiting for the jobs")
    last = 0.0
    while any(True for status in ("queued", "running") for _ in listing(client, "/api/v1/jobs", status, limit=1)):
        if time.time() - last > 60:
            say(f"still ingesting ({time.time() - start:.0f} s)")
            last = time.time()
        time.sleep(3)
    docs = list(listing(client, "/api/v1/documents"))
    jobs = list(listing(client, "/api/v1/jobs"))
    # From the database's own clocks, so that a kept data directory reports the run that filled it.
    first = min(datetime.fromisoformat(doc["created_at"]) for doc in docs)
    finished = max(datetime.fromisoformat(job["finished_at"]) for job in jobs if job["finished_at"])
    mapping: dict[str, str] = {}
    anomalies = []
    for doc in docs:
        if doc["version"] > 0:  # searchable: the live version is what search sees, whatever the status says
            mapping[doc["id"]] = doc["metadata"]["scifact_id"]
        if doc["status"] != "ready":
            anomalies.append(f"{doc['metadata'].get('scifact_id')}: {doc['status']}, version {doc['version']}")
    if anomalies:
        say(f"{len(anomalies)} documents not `ready`: {anomalies[:5]}")
    return Ingested(mapping, (finished - first).total_seconds(), anomalies)


# Searching through the API.


@dataclass(frozen=True)
class Run:
    name: str
    ndcg: float
    recall: float
    unique: float  # abstracts among the 100 hits, on average
    millis: float  # server-side took_ms, median


def run_queries(
    client: httpx.Client,
    name: str,
    body: dict[str, Any],
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    mapping: dict[str, str],
) -> Run:
    def one(query: str) -> tuple[list[str], float]:
        response = client.post("/api/v1/search", json={"query": query, "top_k": 100, **body})
        if response.status_code != 200:
            raise SystemExit(f"search {body}: {response.status_code} {response.text[:500]}")
        answer = response.json()
        return [mapping.get(hit["document_id"], "?") for hit in answer["items"]], answer["took_ms"]

    with ThreadPoolExecutor(2) as pool:
        answers = dict(zip(queries, pool.map(one, queries.values()), strict=True))
    rankings = {query: first_occurrences(hits) for query, (hits, _) in answers.items()}
    mean_ndcg, mean_recall = evaluate(rankings, qrels)
    took = sorted(millis for _, millis in answers.values())
    unique = sum(len(ranking) for ranking in rankings.values()) / len(rankings)
    run = Run(name, mean_ndcg, mean_recall, unique, took[len(took) // 2])
    say(f"{name}: nDCG@10 {run.ndcg:.3f}, recall@100 {run.recall:.3f}")
    return run


# The keyword side, rebuilt in the script from the server's database.


@dataclass(frozen=True)
class Unit:
    """What BM25 scores: one chunk or one whole abstract, with its lexeme counts and its length."""

    key: str  # chunk id or abstract id: ties are broken by it, as the server does by chunk id
    abstract: str
    length: float
    counts: dict[str, int]


def bm25_rankings(units: Sequence[Unit], queries: dict[str, list[str]], depth: int = 100) -> dict[str, list[str]]:
    """BM25 as Folio computes it (Lucene IDF, k1 = 1.2, b = 0.75) over `units`; abstracts by best unit."""
    postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for index, unit in enumerate(units):
        for lexeme, count in unit.counts.items():
            postings[lexeme].append((index, count))
    average = sum(unit.length for unit in units) / len(units)
    norms = [K1 * (1 - B + B * unit.length / average) for unit in units]
    rankings = {}
    for query, lexemes in queries.items():
        scores: dict[int, float] = defaultdict(float)
        for lexeme in set(lexemes):
            found = postings.get(lexeme, [])
            if not found:
                continue
            idf = math.log(1 + (len(units) - len(found) + 0.5) / (len(found) + 0.5))
            for index, count in found:
                scores[index] += idf * count * (K1 + 1) / (count + norms[index])
        best = sorted(scores, key=lambda index: (-scores[index], units[index].key))[:depth]
        rankings[query] = first_occurrences([units[index].abstract for index in best])
    return rankings


@dataclass(frozen=True)
class Diagnosis:
    rows: list[tuple[str, float, float]]
    hnsw_recall: dict[int, float]
    stored_terms: int
    recount_terms: int
    mismatched_terms: int
    stored_chunks: int
    live_chunks: int
    empty_chunks: int  # live chunks without a single lexeme (BM25 never sees them)
    chunks_per_abstract: float
    miscounted: int  # documents whose live chunk rows are not `chunk_count`


async def diagnose(
    url: str,
    corpus: Sequence[Abstract],
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    mapping: dict[str, str],
) -> Diagnosis:
    connection = await asyncpg.connect(url)
    try:
        org = await connection.fetchval("SELECT org_id FROM documents WHERE id = $1::uuid", next(iter(mapping)))
        # How hard these real embeddings are for HNSW (a reference for bench/search.py's derived vectors): the
        # server's own statement, in-process, against its exact scan.
        model = LocalMiniLM(EmbeddingSettings())
        embeddings = model.embed_sync(list(queries.values()))
        await model.close()
        hnsw_recall = await recall_by_ef_search(url, UUID(str(org)), embeddings, [100, 200, 400], SearchSettings())
        say(f"HNSW recall@10 on the SciFact chunks by ef_search: {hnsw_recall}")
        rows = await connection.fetch(
            """
            SELECT c.id::text AS id, c.document_id::text AS document_id, c.token_count, t.lexeme,
                   cardinality(t.positions) AS count
            FROM chunks c JOIN documents d ON d.id = c.document_id AND d.version = c.version,
                 unnest(c.search_vector) t
            WHERE c.org_id = $1
            """,
            org,
        )
        stored = dict(await connection.fetch("SELECT lexeme, chunks FROM search_terms WHERE org_id = $1", org))
        stored_chunks = await connection.fetchval("SELECT chunks FROM search_corpora WHERE org_id = $1", org)
        live_chunks, empty_chunks = await connection.fetchrow(
            """
            SELECT count(*), count(*) FILTER (WHERE length(c.search_vector) = 0)
            FROM chunks c JOIN documents d ON d.id = c.document_id AND d.version = c.version
            WHERE c.org_id = $1
            """,
            org,
        )
        miscounted = await connection.fetchval(
            """
            SELECT count(*) FROM documents d
            WHERE d.org_id = $1 AND d.version > 0
              AND d.chunk_count <> (SELECT count(*) FROM chunks c WHERE c.document_id = d.id AND c.version = d.version)
            """,
            org,
        )

        async def lexemes_of(texts: Sequence[str]) -> list[dict[str, int]]:
            """PostgreSQL's `english` lexemes of each text with their counts, as `to_tsvector` makes them."""
            found: list[dict[str, int]] = [{} for _ in texts]
            for index, lexeme, count in await connection.fetch(
                """
                SELECT d.i, t.lexeme, cardinality(t.positions)
                FROM unnest($1::text[]) WITH ORDINALITY AS d(body, i), unnest(to_tsvector('english', d.body)) t
                """,
                list(texts),
            ):
                found[index - 1][lexeme] = count
            return found

        lexemes = await lexemes_of(list(queries.values()))
        query_lexemes = {query: list(counts) for query, counts in zip(queries, lexemes, strict=True)}
        abstracts = await lexemes_of([abstract.text for abstract in corpus])
        with_titles = await lexemes_of([f"{abstract.title} {abstract.text}" for abstract in corpus])
        titles = await lexemes_of([abstract.title for abstract in corpus])
    finally:
        await connection.close()

    chunk_counts: dict[str, dict[str, int]] = defaultdict(dict)
    chunk_info: dict[str, tuple[str, int]] = {}
    for row in rows:
        chunk_counts[row["id"]][row["lexeme"]] = row["count"]
        chunk_info[row["id"]] = (row["document_id"], row["token_count"])
    document_frequency: dict[str, int] = defaultdict(int)
    for counts in chunk_counts.values():
        for lexeme in counts:
            document_frequency[lexeme] += 1
    mismatched = sum(1 for lexeme, df in document_frequency.items() if stored.get(lexeme) != df)
    mismatched += sum(1 for lexeme in stored if lexeme not in document_frequency)

    title_of = {abstract.id: titles[index] for index, abstract in enumerate(corpus)}

    def chunks(*, length: str, title: bool) -> list[Unit]:
        units = []
        for chunk_id, counts in chunk_counts.items():
            document_id, tokens = chunk_info[chunk_id]
            abstract = mapping.get(document_id, "?")
            if title:
                counts = dict(counts)
                for lexeme, count in title_of.get(abstract, {}).items():
                    counts[lexeme] = counts.get(lexeme, 0) + count
            size = tokens if length == "tokens" else sum(counts.values())
            units.append(Unit(chunk_id, abstract, size, counts))
        return units

    ingested = set(mapping.values())

    def whole(lexemes: list[dict[str, int]]) -> list[Unit]:
        return [
            Unit(abstract.id, abstract.id, sum(counts.values()), counts)
            for abstract, counts in zip(corpus, lexemes, strict=True)
            if abstract.id in ingested
        ]

    variants: list[tuple[str, Callable[[], list[Unit]]]] = [
        ("chunks, length in model tokens (what the server does)", lambda: chunks(length="tokens", title=False)),
        ("chunks, length in lexemes", lambda: chunks(length="lexemes", title=False)),
        ("chunks + their abstract's title, length in lexemes", lambda: chunks(length="lexemes", title=True)),
        ("whole abstracts, no title", lambda: whole(abstracts)),
        ("whole abstracts + title (BEIR's document text)", lambda: whole(with_titles)),
    ]
    results = []
    for name, build in variants:
        mean_ndcg, mean_recall = evaluate(bm25_rankings(build(), query_lexemes), qrels)
        results.append((name, mean_ndcg, mean_recall))
        say(f"in-script BM25, {name}: nDCG@10 {mean_ndcg:.3f}, recall@100 {mean_recall:.3f}")
    return Diagnosis(
        rows=results,
        hnsw_recall=hnsw_recall,
        stored_terms=len(stored),
        recount_terms=len(document_frequency),
        mismatched_terms=mismatched,
        stored_chunks=stored_chunks or 0,
        live_chunks=live_chunks,
        empty_chunks=empty_chunks,
        chunks_per_abstract=live_chunks / max(len(mapping), 1),
        miscounted=miscounted,
    )


# The run.

SWEEP: list[tuple[int, float, float]] = [
    (k, keyword, vector) for k in (20, 60) for keyword, vector in ((1, 1), (1.5, 1), (2, 1), (1, 1.5))
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", action="store_true", help="500 abstracts and the queries they answer")
    parser.add_argument("--data", type=Path, default=DATA, help="the SciFact directory (BEIR layout)")
    parser.add_argument("--keep", type=Path, help="data directory to keep and reuse (outside the repository)")
    parser.add_argument("--no-sweep", action="store_true", help="only the three modes at their defaults")
    parser.add_argument("--no-record", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    check_metrics()
    if args.keep is not None and args.keep.resolve().is_relative_to(ROOT):
        raise SystemExit("--keep must be outside the repository: SciFact may not be copied into it")

    corpus = load_corpus(args.data)
    qrels = load_qrels(args.data)
    if args.small:
        # The abstracts the first 60 test queries need, then others up to 500.
        needed = {doc for relevant in list(qrels.values())[:60] for doc in relevant}
        corpus = [a for a in corpus if a.id in needed] + [a for a in corpus if a.id not in needed][: 500 - len(needed)]
        ids = {abstract.id for abstract in corpus}
        qrels = {query: relevant for query, relevant in list(qrels.items())[:60] if set(relevant) <= ids}
    queries = load_queries(args.data, set(qrels))
    say(f"{len(corpus):,} abstracts, {len(queries)} test queries, {sum(map(len, qrels.values()))} judgements")

    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="folio-bench-scifact-")) / "data"
    try:
        database = EmbeddedPostgres(data_dir / "postgres")
        try:
            with server(data_dir) as base, api_client(base) as client:
                ingested = ingest(client, corpus)
                mapping = ingested.mapping
                runs = [
                    run_queries(client, mode, {"mode": mode}, queries, qrels, mapping)
                    for mode in ("keyword", "vector", "hybrid")
                ]
                sweep = []
                if not args.no_sweep:
                    for k, keyword, vector in SWEEP:
                        body = {
                            "mode": "hybrid",
                            "hybrid": {"k": k, "keyword_weight": keyword, "vector_weight": vector},
                        }
                        name = f"hybrid k={k}, weights {keyword:g} : {vector:g}"
                        sweep.append(run_queries(client, name, body, queries, qrels, mapping))
                diagnosis = asyncio.run(diagnose(database.url, corpus, queries, qrels, mapping))
        finally:
            database.release()
    finally:
        if args.keep is None:
            shutil.rmtree(data_dir.parent, ignore_errors=True)

    table = render(args, len(corpus), len(queries), ingested, runs, sweep, diagnosis)
    print(table)
    if not args.no_record:
        record(SECTION, table)


def verdict(value: float, goal: float) -> str:
    return f"≥ {goal:.2f} — " + ("met" if value >= goal else "**not met**")


def render(
    args: argparse.Namespace,
    abstracts: int,
    queries: int,
    ingested: Ingested,
    runs: list[Run],
    sweep: list[Run],
    diagnosis: Diagnosis,
) -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    command = "python bench/retrieval_eval.py" + (" --small" if args.small else "")
    by_mode = {run.name: run for run in runs}
    best = max(sweep, key=lambda run: run.ndcg) if sweep else None
    lines = [
        SECTION,
        "",
        f"`{command}` — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {cpu}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {os.getloadavg()[0]:.1f} at the end. BEIR SciFact test split "
        f"({abstracts:,} abstracts, {queries} queries, CC BY-NC: read from /work/shared/eval-data/scifact at run "
        f"time, never stored in the project). A fresh `folio serve` (default settings) ingested every abstract "
        f"through the API — one text file per request, the title in the `title` form field — "
        f"{len(ingested.mapping):,} searchable, {diagnosis.live_chunks:,} live chunks "
        f"({diagnosis.chunks_per_abstract:.2f} per abstract), {ingested.seconds / 60:.0f} min from the first upload "
        f"to the last job ({diagnosis.live_chunks / ingested.seconds:.1f} chunks/s, on the shared machine)"
        + (" in the run that filled the kept data directory" if args.keep else "")
        + ". Each query: `POST /api/v1/search` with `top_k=100`; an abstract ranks where its best chunk does. "
        "nDCG@10 and recall@100 as BEIR (pytrec_eval) defines them, computed in the script.",
        "",
        "| mode | nDCG@10 | recall@100 | abstracts in 100 hits | server ms (median) | goal |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for run in runs:
        goal = verdict(run.ndcg, GOALS[run.name]) if run.name in GOALS else ""
        lines.append(
            f"| {run.name} | {run.ndcg:.3f} | {run.recall:.3f} | {run.unique:.1f} | {run.millis:.0f} | {goal} |"
        )
    lines += [
        "",
        "Reference figures measured on this machine with the same embedding model (whole abstracts with their "
        "titles, 100 documents deep): "
        + ", ".join(f"{name} {value:.3f}" for name, value in REFERENCE.items())
        + " nDCG@10 (RRF recall@100 0.955).",
    ]
    if sweep:
        lines += [
            "",
            "Fusion settings a client can send per request (`hybrid.k`, `hybrid.keyword_weight`, "
            "`hybrid.vector_weight`); the server's defaults are k = 60, weights 1 : 1:",
            "",
            "| hybrid | nDCG@10 | recall@100 |",
            "|---|---:|---:|",
            *(f"| {run.name.removeprefix('hybrid ')} | {run.ndcg:.3f} | {run.recall:.3f} |" for run in sweep),
        ]
        if best is not None:
            lines += ["", f"Best of the sweep: {best.name} ({best.ndcg:.3f})."]
    lines += [
        "",
        "The keyword side, rebuilt in the script from the server's database (PostgreSQL `english` lexemes, "
        f"Folio's BM25: Lucene IDF, k1 = {K1}, b = {B}; abstracts ranked by their best unit, 100 units deep). "
        f"Stored statistics: {diagnosis.stored_terms:,} lexemes in `search_terms` against {diagnosis.recount_terms:,} "
        f"recounted from the live chunks ({diagnosis.mismatched_terms} differ); `search_corpora` says "
        f"{diagnosis.stored_chunks:,} chunks, {diagnosis.live_chunks:,} are live ({diagnosis.empty_chunks} of them "
        "without a single lexeme).",
        "",
        "| BM25 over | nDCG@10 | recall@100 |",
        "|---|---:|---:|",
        *(f"| {name} | {value:.3f} | {found:.3f} |" for name, value, found in diagnosis.rows),
        "",
        f"The organization's {diagnosis.live_chunks:,} chunks are below `FOLIO_SEARCH__EXACT_BELOW`, so `vector` "
        "mode above scanned them exactly. For reference (these are real MiniLM vectors, bench/search.py's are "
        "derived), HNSW recall@10 against that exact scan with the server's statement, in-process: "
        + ", ".join(f"ef_search {ef}: {value:.3f}" for ef, value in diagnosis.hnsw_recall.items())
        + ".",
        "",
    ]
    if ingested.anomalies or diagnosis.miscounted:
        lines += [
            f"Ingestion anomalies: {len(ingested.anomalies)} documents searchable but not `ready` "
            f"({'; '.join(ingested.anomalies[:3])}{' …' if len(ingested.anomalies) > 3 else ''}), "
            f"{diagnosis.miscounted} whose live chunk rows differ from their `chunk_count` (the job ran twice).",
            "",
        ]
    keyword, hybrid = by_mode["keyword"].ndcg, by_mode["hybrid"].ndcg
    met = [name for name, value in (("keyword", keyword), ("hybrid", hybrid)) if value >= GOALS[name]]
    missed = [name for name in GOALS if name not in met]
    lines += [
        f"Goals (keyword ≥ {GOALS['keyword']:.2f}, hybrid ≥ {GOALS['hybrid']:.2f} nDCG@10): "
        + (f"met for {', '.join(met)}" if met else "none met")
        + (f"; **not met** for {', '.join(missed)}." if missed else "."),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
