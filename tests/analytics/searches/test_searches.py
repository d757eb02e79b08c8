"""Search analytics: normalised queries group variants, lists and percentiles are known answers on a generated log,
only admins read it, and only their organization's searches count."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from folio.analytics.searches.schemas import SLOW_MIN_SEARCHES
from folio.search.query_text import normalized_query
from tests.analytics.conftest import settled, this_minute
from tests.factories import create_api_key, error_of, org_with, register

SEARCHES = "/api/v1/analytics/searches"
NOW = datetime.now(UTC)

_LOG = text(
    """
    INSERT INTO search_queries (id, org_id, query, normalized, mode, filters, top_k, hit_count, latency_ms, source,
        created_at)
    SELECT gen_random_uuid(), :org_id, :query, :normalized, :mode, '{}', 10,
        CASE WHEN i <= CAST(:count AS int) / 2 THEN CAST(:hits_first AS int) ELSE CAST(:hits_rest AS int) END,
        CAST(:latency AS float8) + (i - 1) * CAST(:step AS float8), :source,
        CAST(:at AS timestamptz) - make_interval(secs => i)
    FROM generate_series(1, CAST(:count AS int)) AS i
    """
)


_LATENCIES = text(
    """
    INSERT INTO search_queries (id, org_id, query, normalized, mode, filters, top_k, hit_count, latency_ms, source,
        created_at)
    SELECT gen_random_uuid(), :org_id, :query, :normalized, 'hybrid', '{}', 10, 1, latency, 'search',
        CAST(:at AS timestamptz) - make_interval(secs => position)
    FROM unnest(CAST(:latencies AS float8[])) WITH ORDINALITY AS searched(latency, position)
    """
)


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Refund policy?", "refund policy"),
        ("  REFUND\t policy!! ", "refund policy"),
        ("ＲＥＦＵＮＤ　ｐｏｌｉｃｙ", "refund policy"),  # full-width letters and space (NFKC)
        ("(refund) «policy»", "refund policy"),
        ("¿Straße?", "strasse"),  # casefolded, not just lower-cased
        ("policy refund", "policy refund"),  # word order is kept
        ("café", "café"),  # accents are kept: the index tells them apart
        ('"service level" credits -draft', '"service level" credits -draft'),  # search syntax is kept
        ("refund - policy", "refund policy"),  # a lone dash is not a negation
        ("C++ & C#", "c c"),
        ("🙂", "🙂"),  # nothing but symbols: kept as typed (folded)
        ("e-mail re:invoice 12.50€", "e-mail re:invoice 12.50"),
    ],
)
def test_normalisation(raw: str, normalized: str) -> None:
    assert normalized_query(raw) == normalized


Logged = tuple[str, str, str, int, float, float, int, int, int]


async def _log(app: FastAPI, org_id: UUID, *rows: Logged) -> None:
    """Each row: the query as typed, mode, source, how many searches, the first one's latency (ms) and the step to
    the next one's, hits of the first half and of the rest, minutes ago."""
    async with app.state.sessionmaker() as session, session.begin():
        for raw, mode, source, count, latency, step, hits_first, hits_rest, minutes_ago in rows:
            await session.execute(
                _LOG,
                {
                    "org_id": org_id,
                    "query": raw,
                    "normalized": normalized_query(raw),
                    "mode": mode,
                    "source": source,
                    "count": count,
                    "latency": latency,
                    "step": step,
                    "hits_first": hits_first,
                    "hits_rest": hits_rest,
                    "at": NOW - timedelta(minutes=minutes_ago),
                },
            )


async def _log_latencies(app: FastAPI, org_id: UUID, searches: dict[str, list[float]]) -> None:
    """Each query as typed with the latency (ms) of each of its searches, in the last hour."""
    async with app.state.sessionmaker() as session, session.begin():
        for raw, latencies in searches.items():
            await session.execute(
                _LATENCIES,
                {
                    "org_id": org_id,
                    "query": raw,
                    "normalized": normalized_query(raw),
                    "latencies": latencies,
                    "at": NOW - timedelta(minutes=1),
                },
            )


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont, numpy's default)."""
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def analytics(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get(SEARCHES, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_lists_and_percentiles_of_a_generated_log(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    other = await register(client)
    await _log(
        app,
        owner.org_id,
        ("Refund policy?", "hybrid", "search", 40, 10.0, 1.0, 8, 8, 60),
        ("refund POLICY", "hybrid", "search", 20, 30.0, 1.0, 6, 0, 50),
        ("invoice copy", "keyword", "search", 30, 5.0, 0.5, 0, 0, 40),
        ("What is the notice period?", "hybrid", "answers", 4, 900.0, 100.0, 3, 3, 30),
        ("gdpr", "vector", "search", 1, 2000.0, 0.0, 0, 0, 20),
        ("old question", "keyword", "search", 5, 1.0, 0.0, 0, 0, 60 * 24 * 40),  # before the period
    )
    # Another organization's much larger log never counts.
    await _log(app, other.org_id, ("refund policy", "hybrid", "search", 500, 1.0, 0.0, 0, 0, 10))

    body = await analytics(client, owner.headers)
    refund = [10.0 + i for i in range(40)] + [30.0 + i for i in range(20)]
    invoice = [5.0 + 0.5 * i for i in range(30)]
    notice = [900.0 + 100 * i for i in range(4)]
    hybrid = refund + notice
    everything = hybrid + invoice + [2000.0]

    totals = body["totals"]
    assert totals["searches"] == 95
    assert totals["distinct_queries"] == 4
    assert totals["zero_results"] == 10 + 30 + 1
    assert totals["zero_result_share"] == round(41 / 95, 4)
    for share, name in ((0.5, "p50_latency_ms"), (0.95, "p95_latency_ms"), (0.99, "p99_latency_ms")):
        assert totals[name] == pytest.approx(percentile(everything, share), abs=1e-3)
    by_mode = {row["mode"]: row for row in body["by_mode"]}
    assert [row["mode"] for row in body["by_mode"]] == ["hybrid", "keyword", "vector"]
    assert by_mode["hybrid"]["searches"] == 64
    assert by_mode["hybrid"]["p95_latency_ms"] == pytest.approx(percentile(hybrid, 0.95), abs=1e-3)
    assert by_mode["keyword"]["p50_latency_ms"] == pytest.approx(percentile(invoice, 0.5), abs=1e-3)
    assert by_mode["vector"] | {"mode": None} == {
        "mode": None,
        "searches": 1,
        "zero_results": 1,
        "zero_result_share": 1.0,
        "mean_hits": 0.0,
        "p50_latency_ms": 2000.0,
        "p95_latency_ms": 2000.0,
        "p99_latency_ms": 2000.0,
    }

    top = body["top_queries"]
    assert [row["query"] for row in top] == ["refund policy", "invoice copy", "what is the notice period", "gdpr"]
    assert top[0] == {
        "query": "refund policy",
        "example": "Refund policy?",  # the form asked most often
        "searches": 60,
        "zero_results": 10,
        "zero_result_share": round(10 / 60, 4),
        "mean_hits": round((40 * 8 + 10 * 6) / 60, 3),
        "p95_latency_ms": pytest.approx(percentile(refund, 0.95), abs=1e-3),
    }
    assert [(row["query"], row["zero_results"]) for row in body["zero_result_queries"]] == [
        ("invoice copy", 30),
        ("refund policy", 10),
        ("gdpr", 1),
    ]
    # `gdpr` (1 search) and the notice period (4) are slower, but searched too rarely to be ranked as slow.
    assert [row["query"] for row in body["slow_queries"]] == ["refund policy", "invoice copy"]
    assert body["slow_queries"][1]["p95_latency_ms"] == pytest.approx(percentile(invoice, 0.95), abs=1e-3)
    assert top[2]["p95_latency_ms"] == pytest.approx(percentile(notice, 0.95), abs=1e-3)

    limited = await analytics(client, owner.headers, limit=1, mode="hybrid", source="search")
    assert limited["totals"]["searches"] == 60
    assert [row["query"] for row in limited["top_queries"]] == ["refund policy"]
    assert [row["query"] for row in limited["slow_queries"]] == ["refund policy"]
    assert limited["mode"] == "hybrid"
    assert limited["source"] == "search"

    older = await analytics(client, owner.headers, **{"from": (NOW - timedelta(days=60)).isoformat()})
    assert older["totals"]["searches"] == 100

    empty = await analytics(client, other.headers, mode="keyword")
    assert empty["totals"]["searches"] == 0
    assert empty["totals"]["p50_latency_ms"] is None
    assert empty["top_queries"] == []
    assert empty["by_mode"] == []


async def test_slow_queries_are_searched_often_enough(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    assert SLOW_MIN_SEARCHES == 5
    await _log_latencies(
        app,
        owner.org_id,
        {
            "rare and slowest": [5000.0] * 4,
            "just often enough": [100.0, 200.0, 300.0, 400.0, 500.0],
            "common": [10.0 + i for i in range(50)],
        },
    )
    body = await analytics(client, owner.headers)
    slow = body["slow_queries"]
    assert [row["query"] for row in slow] == ["just often enough", "common"]
    assert slow[0]["p95_latency_ms"] == pytest.approx(percentile([100.0, 200.0, 300.0, 400.0, 500.0], 0.95), abs=1e-3)
    # Still listed, with its percentile, where its searches count.
    rare = next(row for row in body["top_queries"] if row["query"] == "rare and slowest")
    assert rare["p95_latency_ms"] == 5000.0
    assert body["totals"]["distinct_queries"] == 3


async def test_the_example_is_the_form_asked_most_often(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    # The form asked most often sorts last: a prefix sorts first in every collation.
    await _log_latencies(app, owner.org_id, {"Invoice copy?": [10.0] * 3, "Invoice copy": [10.0] * 2})
    body = await analytics(client, owner.headers)
    assert [(row["query"], row["example"], row["searches"]) for row in body["top_queries"]] == [
        ("invoice copy", "Invoice copy?", 5)
    ]


async def test_one_outlier_does_not_hide_the_slowest_query(app: FastAPI, client: httpx.AsyncClient) -> None:
    """The latencies of the period's slowest 1% (950 ms and above) hold one of `outlier`'s five searches, which is
    not enough for its p95 (800.2 ms) to reach them: the slowest query by p95 is `steady` (900 ms) nonetheless."""
    owner = await register(client)
    await _log_latencies(
        app,
        owner.org_id,
        {
            "outlier": [1.0, 1.0, 1.0, 1.0, 1000.0],
            "steady": [900.0] * 5,
            "mostly fast": [10.0] * 190 + [950.0] * 10,
        },
    )
    one = await analytics(client, owner.headers, limit=1)
    assert [(row["query"], row["p95_latency_ms"]) for row in one["slow_queries"]] == [("steady", 900.0)]
    every = await analytics(client, owner.headers)
    assert [(row["query"], row["p95_latency_ms"]) for row in every["slow_queries"]] == [
        ("steady", 900.0),
        ("outlier", pytest.approx(800.2, abs=1e-3)),
        ("mostly fast", pytest.approx(percentile([10.0] * 190 + [950.0] * 10, 0.95), abs=1e-3)),
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_slow_and_top_lists_are_exact_on_random_logs(app: FastAPI, client: httpx.AsyncClient, seed: int) -> None:
    """Queries of every size with log-normal latencies, some with a slow tail: the slow list is the one computed
    from every query's latencies, though only the queries that may be among the slowest have theirs sorted."""
    draw = random.Random(seed)
    searches: dict[str, list[float]] = {}
    for index in range(80):
        count = draw.choice([1, 2, 4, 5, 6, 9, 14, 21, 22, 40, 41, 120])
        tail = draw.choice([1.0, 1.0, 1.0, 3.0, 10.0])
        searches[f"query {index:02d}"] = [
            round(draw.lognormvariate(4.0, 0.6) * (tail if draw.random() < 0.08 else 1.0), 3) for _ in range(count)
        ]
    owner = await register(client)
    await _log_latencies(app, owner.org_id, searches)

    for limit in (3, 10):
        body = await analytics(client, owner.headers, limit=limit)
        often = [(name, percentile(values, 0.95)) for name, values in searches.items() if len(values) >= 5]
        slowest = sorted(often, key=lambda item: (-item[1], item[0]))[:limit]
        assert [(row["query"], row["p95_latency_ms"]) for row in body["slow_queries"]] == [
            (name, pytest.approx(p95, abs=1e-3)) for name, p95 in slowest
        ]
        most = sorted(searches.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
        assert [(row["query"], row["searches"], row["p95_latency_ms"]) for row in body["top_queries"]] == [
            (name, len(values), pytest.approx(percentile(values, 0.95), abs=1e-3)) for name, values in most
        ]


async def test_searches_are_logged_normalised(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Through `POST /search`: variants of one query group together, and finding nothing is counted."""
    owner = await register(client)
    for query in ("Refund policy?", "refund   POLICY", "ＲＥＦＵＮＤ policy!", "policy refund"):
        found = await client.post("/api/v1/search", json={"query": query, "mode": "keyword"}, headers=owner.headers)
        assert found.status_code == 200, found.text
    await settled(app, owner.org_id)
    period = this_minute()
    body = await analytics(client, owner.headers, **period)
    assert {row["query"]: row["searches"] for row in body["top_queries"]} == {"refund policy": 3, "policy refund": 1}
    assert {row["query"]: row["zero_result_share"] for row in body["zero_result_queries"]} == {
        "refund policy": 1.0,
        "policy refund": 1.0,
    }
    assert body["by_mode"][0]["mode"] == "keyword"
    again = await client.get(SEARCHES, params=period, headers=owner.headers)
    assert again.headers["X-Cache"] == "hit"
    unchanged = await client.get(
        SEARCHES, params=period, headers={**owner.headers, "If-None-Match": again.headers["ETag"]}
    )
    assert unchanged.status_code == 304


async def test_only_admins_read_the_search_log(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner, (admin, manager, viewer) = await org_with(client, "admin", "bu_manager", "viewer")
    assert (await client.get(SEARCHES, headers=admin.in_org(owner.org_id))).status_code == 200
    for member in (manager, viewer):
        error_of(await client.get(SEARCHES, headers=member.in_org(owner.org_id)), 403, "FORBIDDEN")
    dashboard = await create_api_key(client, owner, scopes=["analytics"])
    error_of(await client.get(SEARCHES, headers={"X-API-Key": dashboard["secret"]}), 403, "FORBIDDEN")
    both = await create_api_key(client, owner, scopes=["analytics", "admin"])
    assert (await client.get(SEARCHES, headers={"X-API-Key": both["secret"]})).status_code == 200
    error_of(await client.get(SEARCHES), 401, "AUTH_REQUIRED")


async def test_bad_questions_are_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    owner = await register(client)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"limit": 101}, "VALIDATION_ERROR"),
        ({"limit": 0}, "VALIDATION_ERROR"),
        ({"mode": "fuzzy"}, "VALIDATION_ERROR"),
        ({"source": "search\x00"}, "VALIDATION_ERROR"),
        ({"source": "x" * 17}, "VALIDATION_ERROR"),
        ({"tz": "Mars/Olympus"}, "TIMEZONE_INVALID"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"to": "0001-01-01T00:00:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"from": "0001-01-01T00:00:00+05:00", "to": "0001-01-20T00:00:00Z"}, "ANALYTICS_PERIOD_INVALID"),
        ({"to": "9999-12-31T23:59:00-05:00"}, "ANALYTICS_PERIOD_INVALID"),
        ({"user_id": "1"}, "VALIDATION_ERROR"),
    ]
    for params, code in cases:
        error_of(await client.get(SEARCHES, params=params, headers=owner.headers), 422, code)
