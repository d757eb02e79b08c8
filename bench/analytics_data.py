"""What bench/analytics.py measures on: a year of an organization's cases and searches, written with COPY.

Each organization (made through the API first: owner, units, a member limited to units) gets, in one pass ordered
by time as a live server would have written them (its rows interleaved with the other organization's):

- cases: a `record` document, its text, its record, its triage enrichment and one chunk (short texts are one chunk),
  opened over the last 365 days: growth over the year, a December peak, weekly seasonality (weekends at ~40 %),
  office hours, an outage day 45 days ago at 2.5 times the volume, and planted trends — a firmware update that
  bricks devices (last 6 days), a courier strike (last 10 days, doubling `shipping_delivery`), expiring gift
  vouchers (rising over 60 days). Texts are bench/records.py's customer messages (8-60 words) with a few words from
  a Zipf-distributed vocabulary of 30,000 names and terms, so that a day holds thousands of distinct lexemes as
  real free text does. Units are unequal (Zipf), labels (sentiment, severity, category) follow the text with some
  noise, cases get a first response and a resolution after log-normal delays (3 % never resolved: the backlog),
  an SLA due time by priority, an agent of their unit, and the day's import batch and jobs;
- searches: the search log, Zipf over ~150,000 distinct queries (a few hundred common questions, then a long tail),
  typed with varying case, spacing and punctuation, over modes, sources, latencies and hit counts (tail queries
  find nothing more often);
- usage: a few hundred model calls a day.

Chunks carry a zero embedding, which the HNSW index (cosine) leaves out: no measurement here searches by vector,
and indexing a million real vectors would take longer than the whole benchmark. Search's BM25 statistics are not
written (nothing here searches). Trending's daily rollups are filled from the chunks with the backfill of their
migration, the document tallies and case days by theirs (`rebuild_document_tallies()`, `rebuild_case_days()`).
Secondary indexes are dropped while loading and built again after, foreign keys and triggers are off while loading
(`session_replication_role = replica`: the rows are consistent by construction); then VACUUM ANALYZE, as
autovacuum would have done on a server that grew this way.
"""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import math
import random
import sys
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
import numpy as np
import orjson
from pgvector.asyncpg import register_vector

sys.path.insert(0, str(Path(__file__).parent))
from cases_data import uuid7_at
from folio.cases.workflow import DEFAULT_SLA_HOURS
from folio.enrichment.triage import TRIAGE_SCHEMA_ID
from folio.models import CasePriority
from records import CHANNELS, PROBLEMS, PRODUCTS, customers, message

DAYS = 365
STEP = 50_000  # cases (or searches) generated and copied at a time
POOL = 30_000  # distinct customer messages
VOCABULARY = 30_000  # the long tail of words: names, places, product codes
QUERIES = 150_000  # distinct searches
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ZERO_VECTOR = np.zeros(384, dtype=np.float32)
SLA = {priority: timedelta(hours=hours) for priority, hours in DEFAULT_SLA_HOURS.items()}
_LOW = (1 << 62) - 1
# Tables written in bulk: their secondary indexes are built once, after the rows.
BULK = ("documents", "document_contents", "records", "enrichments", "chunks", "search_queries", "usage_events")

UNIT_NAMES = (
    "Consumer North", "Consumer South", "Consumer West", "Small Business", "Enterprise", "Public Sector",
    "Partners", "Retail Stores", "Online Shop", "Logistics", "Banking", "Telecom",
)  # fmt: skip
PROBLEM_CATEGORIES = {
    "keeps crashing when I open it": "technical_issue",
    "will not sync with my other devices": "technical_issue",
    "shows the wrong balance": "billing",
    "arrived damaged and scratched": "product_quality",
    "charged me twice this month": "billing",
    "stopped working after the update": "technical_issue",
    "is extremely slow in the evenings": "technical_issue",
    "logs me out every few minutes": "account_access",
    "never arrived although it says delivered": "shipping_delivery",
    "rejects my card every single time": "billing",
    "lost all my saved settings": "technical_issue",
    "does not accept the discount code": "billing",
    "sends me notifications in the middle of the night": "feature_request",
    "has been offline for hours": "technical_issue",
    "cannot be cancelled online": "cancellation",
}
# What a classifier gets wrong now and then, and the messages no problem names.
NOISE_CATEGORIES = (
    ("customer_service", 30), ("refund_return", 25), ("other", 20), ("praise", 10), ("cancellation", 10),
    ("account_access", 5),
)  # fmt: skip
PRIORITIES = ((CasePriority.LOW, 20), (CasePriority.NORMAL, 50), (CasePriority.HIGH, 22), (CasePriority.URGENT, 8))
SEVERITIES = (("low", 30), ("medium", 40), ("high", 22), ("critical", 8))
SENTIMENTS = (("negative", 55), ("neutral", 35), ("positive", 10))
# Planted trends: (sentence, category, first day before now, last, share of that period's cases; a ramp if True).
TRENDS = (
    ("After the firmware 5.1 update my {product} is bricked and will not boot.", "technical_issue", 6, 0, 0.04, False),
    ("The courier strike means my parcel is stuck at the depot.", "shipping_delivery", 10, 0, 0.09, False),
    ("My gift voucher expired before I could redeem it.", "billing", 60, 0, 0.03, True),
)
OUTAGE = ("Total outage: the service is down for everyone at our site.", "technical_issue", 45)
HOURS = np.array([2, 1, 1, 1, 2, 3, 6, 9, 11, 12, 12, 11, 10, 11, 12, 12, 11, 10, 8, 7, 6, 5, 4, 3], dtype=float)
WEEKDAYS = np.array([1.15, 1.1, 1.05, 1.0, 0.95, 0.45, 0.35])  # Monday first
MODES = (("hybrid", 55), ("keyword", 30), ("vector", 15))
SOURCES = (("search", 72), ("answers", 14), ("chat", 10), ("openai", 4))
LATENCY_MS = {"keyword": (14.0, 0.6), "vector": (32.0, 0.5), "hybrid": (55.0, 0.55)}  # median, sigma (log-normal)
INTENTS = (
    "not working", "refund", "cancel", "offline", "charged twice", "how to reset", "error code", "delivery status",
    "price", "update", "setup guide", "warranty", "login problem", "invoice copy", "slow", "discount code",
    "contact support", "return label", "compatibility", "opening hours",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Tenant:
    """An organization made through the API, and how much it gets."""

    org_id: UUID
    owner_id: UUID
    unit_ids: Sequence[UUID]
    member_ids: Sequence[UUID]  # people who search besides the agents
    cases: int
    searches: int
    seed: int


@dataclass
class Loaded:
    """What loading wrote and how long each part took (seconds)."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _weighted(rng: np.random.Generator, pairs: Sequence[tuple[Any, int]], size: int) -> np.ndarray:
    values = np.array([value for value, _ in pairs], dtype=object)
    weights = np.array([weight for _, weight in pairs], dtype=float)
    return values[rng.choice(len(values), size=size, p=weights / weights.sum())]


def _zipf(count: int, exponent: float, offset: float = 1.0) -> np.ndarray:
    weights = 1.0 / (np.arange(count) + offset) ** exponent
    shares: np.ndarray = weights / weights.sum()
    return shares


def vocabulary(rng: random.Random, count: int = VOCABULARY) -> list[str]:
    """Made-up words of two to four syllables: stand-ins for the names, places and codes of real free text."""
    onsets = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "gr", "st", "tr", "ch", "")
    vowels = ("a", "e", "i", "o", "u", "ai", "ou")
    codas = ("", "", "n", "r", "l", "s", "m")
    words: set[str] = set()
    while len(words) < count:
        syllables = rng.choice((2, 2, 3, 3, 4))
        words.add("".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(syllables)))
    return sorted(words, key=lambda word: (rng.random(), word))


def day_weights(now: datetime, rng: np.random.Generator) -> tuple[list[date], np.ndarray]:
    """The last DAYS days (today last) and their relative volume."""
    today = now.date()
    days = [today - timedelta(days=DAYS - 1 - index) for index in range(DAYS)]
    position = np.arange(DAYS) / (DAYS - 1)
    weekday = np.array([WEEKDAYS[day.weekday()] for day in days])
    season = np.array([1 + 0.15 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 350) / 365) for day in days])
    weights = (0.75 + 0.5 * position) * weekday * season * rng.lognormal(0, 0.08, DAYS)
    weights[DAYS - 1 - OUTAGE[2]] *= 2.5
    return days, weights / weights.sum()


def moments(now: datetime, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` sorted epoch seconds over the last DAYS days, none after `now`."""
    days, weights = day_weights(now, rng)
    starts = np.array([(datetime(day.year, day.month, day.day, tzinfo=UTC) - EPOCH).total_seconds() for day in days])
    limit = (now - EPOCH).total_seconds()
    found = np.empty(0)
    while found.size < count:
        size = int(count * 1.05) + 100
        drawn = starts[rng.choice(DAYS, size=size, p=weights)]
        drawn += rng.choice(24, size=size, p=HOURS / HOURS.sum()) * 3600 + rng.uniform(0, 3600, size)
        found = np.concatenate([found, drawn[drawn < limit]])
    return np.sort(found[:count])


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _uuid7(seconds: float, picks: random.Random) -> UUID:
    """A UUIDv7 of the moment, as `folio.db.new_id` makes them (ids sort by creation, as pages expect)."""
    bits = picks.getrandbits(74)
    return UUID(int=(int(seconds * 1000) << 80) | (0x7 << 76) | ((bits >> 62) << 64) | (0b10 << 62) | (bits & _LOW))


# Messages.


@dataclass(frozen=True, slots=True)
class Pool:
    texts: list[str]
    categories: list[str]
    tail: list[str]
    tail_weights: np.ndarray


def message_pool(seed: int) -> Pool:
    rng = random.Random(seed)
    texts, categories = [], []
    for _ in range(POOL):
        text = " ".join(message(rng).split())
        problem = next((problem for problem in PROBLEM_CATEGORIES if problem in text), None)
        texts.append(text)
        categories.append(PROBLEM_CATEGORIES[problem] if problem else "other")
    return Pool(texts, categories, vocabulary(rng), _zipf(VOCABULARY, 1.1, 2.7))


# Cases.


@dataclass(frozen=True, slots=True)
class Agents:
    by_unit: dict[UUID, list[UUID]]


def _durations(rng: np.random.Generator, median_hours: float, sigma: float, size: int) -> np.ndarray:
    return rng.lognormal(math.log(median_hours * 3600), sigma, size)


class CaseRows:
    """One step of cases of every organization, in opening order, as the five tables' rows."""

    def __init__(self, tenants: Sequence[Tenant], agents: Agents, now: datetime, pool: Pool) -> None:
        self.tenants, self.agents, self.now, self.pool = tenants, agents, now, pool
        rng = np.random.default_rng(1)
        parts = [moments(now, tenant.cases, np.random.default_rng(tenant.seed)) for tenant in tenants]
        owner = np.concatenate([np.full(len(part), index) for index, part in enumerate(parts)])
        opened = np.concatenate(parts)
        order = np.argsort(opened, kind="stable")
        self.opened, self.owner = opened[order], owner[order]
        self.size = len(self.opened)
        self.rng = rng
        # One generator for ids and picks, used in the rows' order: the same rows every run.
        self.picks = random.Random(2)
        self.numbers = [0] * len(tenants)
        self.counts: dict[tuple[int, date], int] = {}  # cases per (tenant, day): the day's batch
        self.customers = customers(random.Random(3))
        self.batches: dict[tuple[int, date], tuple[UUID, UUID, UUID]] = {}  # (tenant, day) → batch, import, enrich
        self.unit_bounds = [np.cumsum(_zipf(len(tenant.unit_ids), 0.7)) for tenant in tenants]

    def batch(self, tenant: int, day: date) -> tuple[UUID, UUID, UUID]:
        key = (tenant, day)
        if key not in self.batches:
            moment = datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC)
            picks = self.picks
            self.batches[key] = (uuid7_at(moment, picks), uuid7_at(moment, picks), uuid7_at(moment, picks))
        return self.batches[key]

    def steps(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        for first in range(0, self.size, STEP):
            yield self._step(first, min(first + STEP, self.size))

    def _step(self, first: int, last: int) -> dict[str, list[tuple[Any, ...]]]:
        rng, now, pool, picks = self.rng, self.now, self.pool, self.picks
        size = last - first
        limit = (now - EPOCH).total_seconds()
        # Python values, not numpy's: the loop below reads each of them once, and numpy scalars are slow to.
        opened = self.opened[first:last].tolist()
        owner = self.owner[first:last].tolist()
        texts = rng.integers(0, len(pool.texts), size).tolist()
        tails = rng.poisson(2.5, size)
        tail_words = rng.choice(VOCABULARY, size=int(tails.sum()) + 1, p=pool.tail_weights).tolist()
        tails = tails.tolist()
        noisy = (rng.random(size) < 0.18).tolist()
        noise = _weighted(rng, NOISE_CATEGORIES, size).tolist()
        priorities = _weighted(rng, PRIORITIES, size).tolist()
        severities = _weighted(rng, SEVERITIES, size).tolist()
        sentiments = _weighted(rng, SENTIMENTS, size).tolist()
        channels = _weighted(rng, CHANNELS, size).tolist()
        customer = np.minimum(rng.exponential(30, size).astype(int), len(self.customers) - 1).tolist()
        responded = _durations(rng, 2.0, 1.2, size).tolist()
        answered = (rng.random(size) < 0.9).tolist()
        resolve = _durations(rng, 20.0, 1.0, size).tolist()
        stuck = (rng.random(size) < 0.03).tolist()
        closed = (rng.random(size) < 0.6).tolist()
        open_state = rng.choice(["open", "in_progress", "waiting"], size=size, p=[0.5, 0.3, 0.2]).tolist()
        assigned = (rng.random(size) < 0.7).tolist()
        chance = rng.random((size, len(TRENDS) + 1)).tolist()
        unit_draw = rng.random(size)
        units = [np.searchsorted(bounds, unit_draw).tolist() for bounds in self.unit_bounds]
        confidence = rng.uniform(0.55, 0.98, size).round(3).tolist()
        risk = (rng.random(size) < 0.04).tolist()
        outage_day = now.date() - timedelta(days=OUTAGE[2])
        metadata = orjson.dumps({"source": "zendesk"}).decode()
        tail_at = 0
        documents: list[tuple[Any, ...]] = []
        contents: list[tuple[Any, ...]] = []
        records: list[tuple[Any, ...]] = []
        enrichments: list[tuple[Any, ...]] = []
        chunks: list[tuple[Any, ...]] = []
        for index in range(size):
            tenant_index = owner[index]
            tenant = self.tenants[tenant_index]
            seconds = opened[index]
            at = datetime.fromtimestamp(seconds, UTC)
            day = at.date()
            age = (limit - seconds) / 86400
            text = pool.texts[texts[index]]
            category = noise[index] if noisy[index] else pool.categories[texts[index]]
            severity, sentiment = severities[index], sentiments[index]
            for number, (sentence, trend_category, start, end, share, ramp) in enumerate(TRENDS):
                if end <= age < start:
                    odds = share * (1 - (age - end) / (start - end)) * 2 if ramp else share
                    if chance[index][number] < odds:
                        product = PRODUCTS[texts[index] % len(PRODUCTS)]
                        text = sentence.format(product=product) + " " + text
                        category = trend_category
                        break
            if day == outage_day and chance[index][-1] < 0.6:
                text = OUTAGE[0] + " " + text
                category, severity, sentiment = OUTAGE[1], "critical", "negative"
            count = tails[index]
            if count:
                text += " Also affected: " + ", ".join(
                    pool.tail[word] for word in tail_words[tail_at : tail_at + count]
                )
                text += "."
                tail_at += count
            if category == "praise":
                sentiment = "positive"
            self.numbers[tenant_index] += 1
            number = self.numbers[tenant_index]
            external_id = f"ZD-{tenant_index}{number:07d}"
            unit_ids = tenant.unit_ids
            unit_id = unit_ids[min(units[tenant_index][index], len(unit_ids) - 1)]
            priority: CasePriority = priorities[index]
            resolved = limit if stuck[index] else seconds + resolve[index]
            done = not stuck[index] and resolved < limit
            first_response = seconds + responded[index] if answered[index] else None
            if done and first_response is not None:
                first_response = min(first_response, resolved)
            elif first_response is not None and first_response >= limit:
                first_response = None
            status = ("closed" if closed[index] else "resolved") if done else open_state[index]
            workers = self.agents.by_unit.get(unit_id)
            assignee = picks.choice(workers) if workers and (done or assigned[index]) else None
            batch_id, _, enrich_job = self.batch(tenant_index, day)
            key = (tenant_index, day)
            self.counts[key] = self.counts.get(key, 0) + 1
            # Imported by the day's batch, at 23:30 UTC (or now, for today's).
            imported_seconds = max(seconds, min(seconds - seconds % 86400 + 84600, limit))
            imported = datetime.fromtimestamp(imported_seconds, UTC)
            updated_seconds = imported_seconds
            resolved_at = first_response_at = None
            if done:
                resolved_at = datetime.fromtimestamp(resolved, UTC)
                updated_seconds = max(updated_seconds, resolved)
            if first_response is not None:
                first_response_at = datetime.fromtimestamp(first_response, UTC)
                updated_seconds = max(updated_seconds, first_response)
            updated = datetime.fromtimestamp(updated_seconds, UTC)
            document_id = _uuid7(seconds, picks)
            data = text.encode()
            labels = orjson.dumps(
                {
                    "sentiment": sentiment,
                    "severity": severity,
                    "category": category,
                    "subcategory": None,
                    "risk_flag": risk[index],
                    "needs_review": confidence[index] < 0.6,
                    "summary": text[:120],
                    "confidence": confidence[index],
                }
            ).decode()
            org_id = tenant.org_id
            documents.append(
                (document_id, imported, org_id, tenant.owner_id, external_id, f"zendesk-{day}.csv", "record",
                 "ready", [], metadata, None, len(data), hashlib.sha256(data).hexdigest(), 1, None, len(text), 1,
                 imported, imported)
            )  # fmt: skip
            contents.append((document_id, org_id, 1, text, f"[[1, 0, {len(text)}]]"))
            records.append(
                (document_id, org_id, external_id, channels[index], self.customers[customer[index]], number, unit_id,
                 at, at, status, priority.value, assignee, at + SLA[priority], resolved_at, first_response_at,
                 sentiment, severity, category, batch_id, updated)
            )  # fmt: skip
            enrichments.append(
                (_uuid7(imported_seconds, picks), imported, org_id, document_id, TRIAGE_SCHEMA_ID, "enriched",
                 enrich_job, labels, "folio-offline-enrichment", confidence[index], confidence[index] < 0.6, 1, 1,
                 imported, imported)
            )  # fmt: skip
            chunks.append(
                (_uuid7(imported_seconds, picks), org_id, document_id, 1, 0, text, 0, len(text), 1, 1,
                 min(len(data) // 4 + 2, 32767), ZERO_VECTOR)
            )  # fmt: skip
        return {
            "documents": documents,
            "document_contents": contents,
            "records": records,
            "enrichments": enrichments,
            "chunks": chunks,
        }


COLUMNS = {
    "documents": (
        "id", "created_at", "org_id", "created_by", "title", "filename", "kind", "status", "tags", "metadata",
        "storage_key", "size_bytes", "sha256", "version", "page_count", "char_count", "chunk_count", "processed_at",
        "updated_at",
    ),
    "document_contents": ("document_id", "org_id", "version", "text", "pages"),
    "records": (
        "document_id", "org_id", "external_id", "channel", "customer", "number", "unit_id", "occurred_at",
        "opened_at", "case_status", "priority", "assigned_to", "due_at", "resolved_at", "first_response_at",
        "sentiment", "severity", "category", "batch_id", "updated_at",
    ),
    "enrichments": (
        "id", "created_at", "org_id", "document_id", "schema_id", "status", "job_id", "data", "model", "confidence",
        "needs_review", "document_version", "attempts", "enriched_at", "updated_at",
    ),
    "chunks": (
        "id", "org_id", "document_id", "version", "ordinal", "text", "start_char", "end_char", "page_start",
        "page_end", "token_count", "embedding",
    ),
    "search_queries": (
        "id", "created_at", "org_id", "user_id", "query", "normalized", "mode", "filters", "top_k", "hit_count",
        "latency_ms", "source",
    ),
    "usage_events": (
        "id", "created_at", "org_id", "user_id", "kind", "model", "prompt_tokens", "completion_tokens", "cost",
    ),
}  # fmt: skip


# Searches.


def distinct_queries(pool: Pool, rng: random.Random) -> list[str]:
    """The questions people ask, most asked first: product × intent phrases, then a long tail of word mixes."""
    products = [product.lower() for product in PRODUCTS]
    head = [f"{product} {intent}" for intent in INTENTS for product in products]
    rng.shuffle(head)
    words = [word for phrase in products + [problem.lower() for problem in PROBLEMS] for word in phrase.split()]
    found, seen = list(head), set(head)
    while len(found) < QUERIES:
        length = rng.choice((1, 2, 2, 3, 3, 4))
        parts = [
            rng.choice(words) if rng.random() < 0.6 else pool.tail[min(int(rng.expovariate(1 / 3000)), VOCABULARY - 1)]
            for _ in range(length)
        ]
        query = " ".join(parts)
        if query not in seen:
            seen.add(query)
            found.append(query)
    return found


def typed(query: str, style: float) -> str:
    """A query as someone types it."""
    if style < 0.6:
        return query
    if style < 0.75:
        return query.capitalize()
    if style < 0.87:
        return query + "?"
    if style < 0.93:
        return query.replace(" ", "  ", 1)
    if style < 0.97:
        return query.title()
    return query.upper()


def search_rows(tenant: Tenant, people: Sequence[UUID], now: datetime, queries: list[str]) -> Iterator[tuple[Any, ...]]:
    """The tenant's search log, oldest first."""
    from folio.search.query_text import normalized_query

    rng = np.random.default_rng(tenant.seed + 100)
    at = moments(now, tenant.searches, rng)
    weights = _zipf(len(queries), 1.0, 3.0)
    normalized: dict[str, str] = {}
    picks = random.Random(tenant.seed + 100)
    for first in range(0, tenant.searches, STEP):
        size = min(STEP, tenant.searches - first)
        picked = rng.choice(len(queries), size=size, p=weights).tolist()
        styles = rng.random(size).tolist()
        modes = _weighted(rng, MODES, size).tolist()
        sources = _weighted(rng, SOURCES, size).tolist()
        who = rng.integers(0, len(people), size).tolist()
        misses = rng.random(size).tolist()
        hits = rng.geometric(0.25, size).tolist()
        tops = rng.choice([10, 10, 10, 10, 5, 20], size=size).tolist()
        spread = rng.standard_normal(size).tolist()
        filtered = (rng.random(size) < 0.1).tolist()
        seconds = at[first : first + size].tolist()
        for index in range(size):
            rank = picked[index]
            query = typed(queries[rank], styles[index])
            if query not in normalized:
                normalized[query] = normalized_query(query)
            source = sources[index]
            mode = "hybrid" if source != "search" and modes[index] == "keyword" else modes[index]
            zero = misses[index] < (0.02 if rank < 2000 else 0.35)
            top_k = tops[index]
            median, sigma = LATENCY_MS[mode]
            latency = median * math.exp(sigma * spread[index]) * (0.7 if zero else 1.0)
            yield (
                _uuid7(seconds[index], picks), _at(seconds[index]), tenant.org_id, people[who[index]], query,
                normalized[query], mode, '{"file_types": ["record"]}' if filtered[index] else "{}", top_k,
                0 if zero else min(hits[index], top_k), round(latency, 3), source,
            )  # fmt: skip


# Jobs, batches, usage.


def batch_rows(rows: CaseRows, counts: dict[tuple[int, date], int]) -> tuple[list[tuple[Any, ...]], ...]:
    """Each day's import batch and its two jobs (import, enrichment), as the import writes them."""
    batches, jobs = [], []
    for (tenant_index, day), (batch_id, import_job, enrich_job) in rows.batches.items():
        tenant = rows.tenants[tenant_index]
        made = datetime(day.year, day.month, day.day, 23, 30, tzinfo=UTC)
        count = counts.get((tenant_index, day), 0)
        imported = made + timedelta(seconds=2 + count / 4000)
        finished = imported + timedelta(seconds=count / 50)
        batches.append(
            (batch_id, made, tenant.org_id, tenant.owner_id, f"zendesk-{day}.csv", "csv", count * 280, "{}", True,
             TRIAGE_SCHEMA_ID, "succeeded", import_job, count, count, count, count, imported, finished, finished)
        )  # fmt: skip
        for job_id, kind, started, ended in (
            (import_job, "import_records", made, imported),
            (enrich_job, "enrich_documents", imported, finished),
        ):
            jobs.append(
                (job_id, made, tenant.org_id, tenant.owner_id, kind, batch_id, "{}", "succeeded", 100, 1, 3, started,
                 ended, ended, started)
            )  # fmt: skip
    return batches, jobs


BATCH_COLUMNS = (
    "id", "created_at", "org_id", "created_by", "filename", "format", "size_bytes", "mapping", "enrich", "schema_id",
    "status", "job_id", "rows_read", "rows_created", "records_indexed", "records_enriched", "imported_at",
    "finished_at", "updated_at",
)  # fmt: skip
JOB_COLUMNS = (
    "id", "created_at", "org_id", "created_by", "kind", "subject_id", "payload", "status", "progress", "attempts",
    "max_attempts", "started_at", "finished_at", "updated_at", "run_after",
)  # fmt: skip


def usage_rows(tenant: Tenant, people: Sequence[UUID], now: datetime) -> list[tuple[Any, ...]]:
    """Model calls: answers and summaries (offline engine), embeddings of queries."""
    rng = np.random.default_rng(tenant.seed + 200)
    count = max(tenant.searches // 10, 100)
    at = moments(now, count, rng)
    kinds = _weighted(rng, (("embedding", 60), ("answer", 25), ("chat", 10), ("summary", 5)), count)
    prompts = rng.integers(20, 3000, count)
    rows = []
    for index in range(count):
        moment = _at(at[index])
        kind = str(kinds[index])
        model = "all-MiniLM-L6-v2" if kind == "embedding" else "folio-extractive"
        completion = 0 if kind == "embedding" else int(prompts[index] // 8)
        rows.append(
            (uuid7_at(moment, random.Random(index)), moment, tenant.org_id, people[index % len(people)], kind, model,
             int(prompts[index]), completion, None)
        )  # fmt: skip
    return rows


# Loading.


async def _indexes(connection: asyncpg.Connection, tables: Sequence[str]) -> list[tuple[str, str]]:
    """The tables' indexes that back no constraint, with their definitions."""
    rows = await connection.fetch(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition "
        "FROM pg_index i WHERE i.indrelid = ANY(SELECT to_regclass(t) FROM unnest($1::text[]) t) "
        "AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        list(tables),
    )
    return [(row["name"], row["definition"]) for row in rows]


async def _table_exists(connection: asyncpg.Connection, name: str) -> bool:
    return bool(await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", name))


async def _columns(connection: asyncpg.Connection, table: str) -> set[str]:
    rows = await connection.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = $1", table)
    return {row["column_name"] for row in rows}


async def _copy(
    connection: asyncpg.Connection, table: str, rows: list[tuple[Any, ...]], columns: Sequence[str]
) -> None:
    if rows:
        await connection.copy_records_to_table(table, records=rows, columns=list(columns))


# Trending's rollups as the backfill of their migration (d5b6f2e30c02) computes them from the live chunks: each case
# once per lexeme, on the UTC day it was opened, the newest case of a day its example. Here every case has one chunk
# (so each lexeme is once per case) and a unit (so the organization's rows are the sums of its units'): one pass
# over the lexemes instead of two. (uuid has no max(); its text sorts the same.) Rows are written day by day, as the
# indexing of each day's cases adds them on a live server: a window's rows lie together, not all over the table.
_UNIT_ROLLUP = """
    INSERT INTO case_unit_terms (org_id, unit_id, day, lexeme, cases, example)
    SELECT r.org_id, r.unit_id, CAST(r.opened_at AT TIME ZONE 'UTC' AS date), t.lexeme, count(*),
        CAST(max(CAST(r.document_id AS text)) AS uuid)
    FROM records r
    JOIN documents d ON d.id = r.document_id
    JOIN chunks c ON c.document_id = d.id AND c.version = d.version,
    unnest(tsvector_to_array(c.search_vector)) AS t(lexeme)
    WHERE d.version > 0 AND is_case_term(t.lexeme) AND r.unit_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    ORDER BY 3, 2, 4
"""
_ORG_ROLLUP = """
    INSERT INTO case_terms (org_id, day, lexeme, cases, example)
    SELECT org_id, day, lexeme, sum(cases), CAST(max(CAST(example AS text)) AS uuid)
    FROM case_unit_terms GROUP BY 1, 2, 3
    ORDER BY 2, 3
"""


def say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {text}", file=sys.stderr, flush=True)


async def load(url: str, tenants: Sequence[Tenant], agents: Agents, now: datetime) -> Loaded:
    """Write every tenant's year of cases and searches (the accounts and units exist)."""
    loaded = Loaded()
    connection = await asyncpg.connect(url)
    try:
        await register_vector(connection)
        await connection.execute("SET session_replication_role = replica")
        await connection.execute("SET maintenance_work_mem = '512MB'")
        await connection.execute("SET synchronous_commit = off")
        await connection.execute("SET work_mem = '1GB'")
        tables = [table for table in BULK if await _table_exists(connection, table)]
        dropped = await _indexes(connection, tables)
        for name, _ in dropped:
            await connection.execute(f"DROP INDEX {name}")
        started = time.perf_counter()
        pool = message_pool(5)
        rows = CaseRows(tenants, agents, now, pool)
        say(f"loading: {rows.size:,} cases ({', '.join(f'{tenant.cases:,}' for tenant in tenants)})")
        done = 0
        steps = rows.steps()
        loop = asyncio.get_running_loop()
        # The next step is made while this one is copied: Python and PostgreSQL work at once.
        with ThreadPoolExecutor(1) as executor:
            pending = loop.run_in_executor(executor, next, steps, None)
            while (step := await pending) is not None:
                pending = loop.run_in_executor(executor, next, steps, None)
                async with connection.transaction():
                    for table in ("documents", "document_contents", "records", "enrichments", "chunks"):
                        await _copy(connection, table, step[table], COLUMNS[table])
                done += len(step["records"])
                if done % 200_000 < STEP:
                    say(f"  {done:,} cases in {time.perf_counter() - started:,.0f} s")
        loaded.rows["cases"] = rows.size
        batches, jobs = batch_rows(rows, rows.counts)
        await _copy(connection, "jobs", jobs, JOB_COLUMNS)
        await _copy(connection, "record_batches", batches, BATCH_COLUMNS)
        for index, tenant in enumerate(tenants):
            await connection.execute(
                "UPDATE organizations SET case_numbers = $2 WHERE id = $1", tenant.org_id, rows.numbers[index]
            )
        loaded.seconds["cases"] = time.perf_counter() - started

        started = time.perf_counter()
        search_columns = [
            column for column in COLUMNS["search_queries"] if column in await _columns(connection, "search_queries")
        ]
        queries = distinct_queries(pool, random.Random(9))
        people = [
            [*tenant.member_ids, *(agent for unit in tenant.unit_ids for agent in agents.by_unit.get(unit, []))]
            for tenant in tenants
        ]
        # The organizations' searches interleaved in time, as a live server logs them.
        merged = heapq.merge(
            *(search_rows(tenant, who, now, queries) for tenant, who in zip(tenants, people, strict=True)),
            key=lambda row: row[1],
        )
        while batch := list(itertools.islice(merged, STEP)):
            await _copy(connection, "search_queries", _only(batch, search_columns), search_columns)
        for tenant, who in zip(tenants, people, strict=True):
            await _copy(connection, "usage_events", usage_rows(tenant, who, now), COLUMNS["usage_events"])
        loaded.rows["searches"] = sum(tenant.searches for tenant in tenants)
        loaded.seconds["searches"] = time.perf_counter() - started

        started = time.perf_counter()
        say(f"loading: building {len(dropped)} indexes")
        for _, definition in dropped:
            await connection.execute(definition)
        loaded.seconds["indexes"] = time.perf_counter() - started

        started = time.perf_counter()
        if await _table_exists(connection, "case_unit_terms"):
            say("loading: trending's rollups")
            await connection.execute(_UNIT_ROLLUP)
            await connection.execute(_ORG_ROLLUP)
            for table in ("case_terms", "case_unit_terms"):
                loaded.rows[table] = await connection.fetchval(f"SELECT count(*) FROM {table}")  # noqa: S608
        if await _table_exists(connection, "document_tallies"):
            # The triggers that keep them were off while loading.
            say("loading: the document tallies")
            await connection.execute("SELECT rebuild_document_tallies()")
        if await _table_exists(connection, "case_days"):
            say("loading: the case days")
            await connection.execute("SELECT rebuild_case_days()")
        loaded.seconds["rollups"] = time.perf_counter() - started

        started = time.perf_counter()
        say("loading: VACUUM ANALYZE")
        await connection.execute("VACUUM ANALYZE")
        await connection.execute("CHECKPOINT")
        loaded.seconds["vacuum"] = time.perf_counter() - started
    finally:
        await connection.close()
    return loaded


def _only(rows: list[tuple[Any, ...]], columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """The search log's rows without the columns this schema lacks (`normalized` came with search analytics)."""
    if len(columns) == len(COLUMNS["search_queries"]):
        return rows
    keep = [COLUMNS["search_queries"].index(column) for column in columns]
    return [tuple(row[index] for index in keep) for row in rows]


async def add_agents(url: str, tenants: Sequence[Tenant], per_unit: int = 2) -> Agents:
    """Agents limited to one unit each (users, memberships, unit memberships), written in SQL: they work the cases
    and search, but never sign in here. Their password hash is their owner's."""
    connection = await asyncpg.connect(url)
    by_unit: dict[UUID, list[UUID]] = {}
    try:
        async with connection.transaction():
            for tenant_index, tenant in enumerate(tenants):
                password_hash = await connection.fetchval(
                    "SELECT password_hash FROM users WHERE id = $1", tenant.owner_id
                )
                rng = random.Random(tenant.seed)
                users, memberships, units = [], [], []
                for unit_index, unit_id in enumerate(tenant.unit_ids):
                    for number in range(per_unit):
                        user_id = uuid7_at(datetime.now(UTC), rng)
                        users.append(
                            (user_id, f"agent{tenant_index}-{unit_index}-{number}@example.com",
                             f"Agent {unit_index}.{number}", password_hash)
                        )  # fmt: skip
                        memberships.append((tenant.org_id, user_id, "editor"))
                        units.append((tenant.org_id, user_id, unit_id))
                        by_unit.setdefault(unit_id, []).append(user_id)
                await connection.copy_records_to_table(
                    "users", records=users, columns=["id", "email", "name", "password_hash"]
                )
                await connection.copy_records_to_table(
                    "memberships", records=memberships, columns=["org_id", "user_id", "role"]
                )
                await connection.copy_records_to_table(
                    "unit_memberships", records=units, columns=["org_id", "user_id", "unit_id"]
                )
    finally:
        await connection.close()
    return Agents(by_unit)
