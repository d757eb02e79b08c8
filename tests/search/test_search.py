"""Search through the API over a small corpus with known answers, ingested once for the module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from folio.models import SearchQuery
from tests.conftest import empty_tables
from tests.corpus import Doc, ingest
from tests.factories import Account, create_api_key, error_of, register
from tests.search.terms import stored_and_recounted_terms

SEARCH = "/api/v1/search"

CORPUS = {
    "bees": Doc(
        "bees.md",
        "# Beekeeping\n\nHoney bees communicate the direction of flowers to the hive with a waggle dance. "
        "A colony winters on its stored honey and keeps the queen warm by shivering its flight muscles.",
        ["nature", "insects"],
        {"team": "biology", "year": 2024},
    ),
    "volcano": Doc(
        "volcano.md",
        "# Volcanoes\n\nMagma rises through the crust and erupts as lava when pressure in the chamber builds up. "
        "Basalt forms when lava cools quickly at the surface.",
        ["nature", "geology"],
        {"team": "geology", "year": 2023},
    ),
    "contract": Doc(
        "contract.txt",
        "Termination. Either party may end this agreement with ninety days written notice. "
        "Invoices are payable within thirty days of receipt; late payments accrue interest.",
        ["legal"],
        {"team": "legal", "year": 2024},
    ),
    "bread": Doc(
        "bread.md",
        "# Sourdough\n\nA sourdough starter is a culture of wild yeast and lactic acid bacteria. "
        "Feed it flour and water daily, and bake when it doubles in size.",
        ["food"],
        {"team": "kitchen", "year": 2022},
    ),
    "ledger": Doc(
        "ledger.txt",
        "Catalogue ledger: the manuscript with shelf mark QX-7781 is kept in the rare books room of the library.",
        ["inventory"],
        {"team": "operations", "year": 2024},
    ),
    "engine": Doc(
        "engine.md",
        "# Workshop notes\n\nWhen a vehicle's motor refuses to turn over, examine the battery terminals and the "
        "starter solenoid before anything else.",
        ["workshop"],
        {"team": "operations", "year": 2023},
    ),
    "escaping": Doc(
        "escaping.txt",
        "Markup. The template prints <script>alert(1)</script> and a < b && c > d literally, so we see escaping.",
        ["legal", "food"],
        {"team": "security", "year": 2024},
    ),
}


@dataclass
class Corpus:
    account: Account
    ids: dict[str, UUID]
    uploaded_at: dict[str, datetime]

    def name_of(self, document_id: str) -> str:
        return next(name for name, value in self.ids.items() if str(value) == document_id)


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's corpus lives until the module ends (see `corpus`); tests here only read."""


@pytest.fixture(scope="module")
async def corpus(app: FastAPI) -> AsyncIterator[Corpus]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        account = await register(client)
        ids, uploaded_at = await ingest(client, account, CORPUS)
        yield Corpus(account, ids, uploaded_at)
    await empty_tables(app)


async def search(client: httpx.AsyncClient, corpus: Corpus, **body: Any) -> dict[str, Any]:
    response = await client.post(SEARCH, json=body, headers=corpus.account.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def names(corpus: Corpus, result: dict[str, Any]) -> list[str]:
    return [corpus.name_of(hit["document_id"]) for hit in result["items"]]


QUESTIONS = {
    "how do bees tell the hive where flowers are": "bees",
    "lava cooling into basalt rock": "volcano",
    "how much notice to terminate the agreement": "contract",
    "feeding a sourdough starter with flour": "bread",
}


@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
@pytest.mark.parametrize(("question", "expected"), QUESTIONS.items())
async def test_the_right_document_ranks_first_in_every_mode(
    client: httpx.AsyncClient, corpus: Corpus, mode: str, question: str, expected: str
) -> None:
    result = await search(client, corpus, query=question, mode=mode, top_k=3)

    assert names(corpus, result)[0] == expected
    assert result["mode"] == mode


async def test_hybrid_finds_what_each_single_mode_misses(client: httpx.AsyncClient, corpus: Corpus) -> None:
    # "QX-7781" only matches the catalogue's words; the workshop note only matches the meaning (no word in common).
    query = "car will not start QX-7781"

    keyword = names(corpus, await search(client, corpus, query=query, mode="keyword", top_k=10))
    vector = names(corpus, await search(client, corpus, query=query, mode="vector", top_k=1))
    hybrid = names(corpus, await search(client, corpus, query=query, mode="hybrid", top_k=2))

    assert "engine" not in keyword
    assert "ledger" not in vector
    assert set(hybrid) == {"ledger", "engine"}


async def test_hits_carry_document_pages_text_snippet_and_scores(client: httpx.AsyncClient, corpus: Corpus) -> None:
    result = await search(client, corpus, query="waggle dance", mode="hybrid", top_k=1)

    (hit,) = result["items"]
    assert hit["document_id"] == str(corpus.ids["bees"])
    assert hit["document_title"] == "Beekeeping"
    assert hit["file_type"] == "markdown"
    assert (hit["page_start"], hit["page_end"]) == (1, 1)
    assert "waggle dance" in hit["text"]
    assert "<mark>waggle</mark> <mark>dance</mark>" in hit["snippet"]
    scores = hit["scores"]
    assert scores["keyword"] > 0
    assert 0 < scores["vector"] <= 1
    assert scores["keyword_rank"] == 1
    assert scores["vector_rank"] >= 1
    assert scores["fused"] == pytest.approx(1 / 61 + 1 / (60 + scores["vector_rank"]), abs=1e-6)


async def test_snippets_escape_the_document_text(client: httpx.AsyncClient, corpus: Corpus) -> None:
    result = await search(client, corpus, query="template prints script literally", mode="keyword", top_k=1)

    snippet = result["items"][0]["snippet"]
    assert "a &lt; b &amp;&amp; c &gt; d" in snippet
    assert "<" not in snippet.replace("<mark>", "").replace("</mark>", "")


async def test_quoted_phrases_are_required_and_negated_words_excluded(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    phrase = names(corpus, await search(client, corpus, query='lava "written notice"', mode="keyword"))
    negated = names(corpus, await search(client, corpus, query="lava honey -bees", mode="keyword"))

    assert phrase == ["contract"]
    assert negated == ["volcano"]


@pytest.mark.parametrize("mode", ["vector", "hybrid"])
async def test_phrases_and_negations_hold_on_the_vector_side(
    client: httpx.AsyncClient, corpus: Corpus, mode: str
) -> None:
    negated = names(corpus, await search(client, corpus, query="honey bees dance -waggle", mode=mode, top_k=100))
    phrase = names(corpus, await search(client, corpus, query='insects "written notice"', mode=mode, top_k=100))

    assert "bees" not in negated
    assert len(negated) == len(CORPUS) - 1
    assert phrase == ["contract"]


async def test_weights_steer_hybrid_fusion(client: httpx.AsyncClient, corpus: Corpus) -> None:
    query = "car will not start QX-7781"

    keyword_only = await search(client, corpus, query=query, top_k=1, hybrid={"vector_weight": 0})
    vector_only = await search(client, corpus, query=query, top_k=1, hybrid={"keyword_weight": 0})

    assert names(corpus, keyword_only) == ["ledger"]
    assert names(corpus, vector_only) == ["engine"]


FILTERS: list[tuple[dict[str, Any], set[str]]] = [
    ({"tags": {"any": ["legal", "geology"]}}, {"contract", "volcano", "escaping"}),
    ({"tags": {"all": ["legal", "food"]}}, {"escaping"}),
    ({"metadata": {"team": "operations"}}, {"ledger", "engine"}),
    ({"metadata": {"team": "operations", "year": 2023}}, {"engine"}),
    ({"file_types": ["text"]}, {"contract", "ledger", "escaping"}),
    ({"tags": {"any": ["nature"]}, "metadata": {"year": 2024}}, {"bees"}),
]


@pytest.mark.parametrize("mode", ["hybrid", "vector", "keyword"])
@pytest.mark.parametrize(("filters", "expected"), FILTERS)
async def test_filters_are_exact(
    client: httpx.AsyncClient, corpus: Corpus, mode: str, filters: dict[str, Any], expected: set[str]
) -> None:
    # Words from every document, so that without filters every document would be found in every mode.
    query = "honey lava notice sourdough ledger vehicle template"

    result = await search(client, corpus, query=query, mode=mode, top_k=100, filters=filters)

    assert set(names(corpus, result)) == expected


async def test_document_and_date_filters(client: httpx.AsyncClient, corpus: Corpus) -> None:
    query = "honey lava notice sourdough ledger vehicle template"
    chosen = [str(corpus.ids["bees"]), str(corpus.ids["bread"])]

    by_id = await search(client, corpus, query=query, top_k=100, filters={"document_ids": chosen})
    since = await search(
        client, corpus, query=query, top_k=100, filters={"created_after": corpus.uploaded_at["ledger"].isoformat()}
    )
    before = await search(
        client, corpus, query=query, top_k=100, filters={"created_before": corpus.uploaded_at["volcano"].isoformat()}
    )

    assert set(names(corpus, by_id)) == {"bees", "bread"}
    assert set(names(corpus, since)) == {"ledger", "engine", "escaping"}
    assert set(names(corpus, before)) == {"bees"}


async def test_pages_follow_each_other_without_overlap(client: httpx.AsyncClient, corpus: Corpus) -> None:
    query = "honey lava notice sourdough ledger vehicle template"
    everything = [hit["chunk_id"] for hit in (await search(client, corpus, query=query, top_k=100))["items"]]

    seen: list[str] = []
    cursor = None
    while True:
        page = await search(client, corpus, query=query, top_k=3, **({"cursor": cursor} if cursor else {}))
        seen += [hit["chunk_id"] for hit in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == everything
    assert len(everything) == len(CORPUS)


async def test_a_cursor_only_continues_its_own_search(client: httpx.AsyncClient, corpus: Corpus) -> None:
    first = await search(client, corpus, query="honey lava notice", top_k=1)

    other_query = await client.post(
        SEARCH, json={"query": "sourdough", "top_k": 1, "cursor": first["next_cursor"]}, headers=corpus.account.headers
    )
    forged = await client.post(
        SEARCH, json={"query": "honey lava notice", "cursor": "bm90LWEtY3Vyc29y"}, headers=corpus.account.headers
    )

    error_of(other_query, 422, "INVALID_CURSOR")
    error_of(forged, 422, "INVALID_CURSOR")
    # The same cursor spelled otherwise (padded, or with a stray character the decoder skips) is not one we issued.
    issued = first["next_cursor"]
    for altered in (issued + "=" * (-len(issued) % 4 or 4), issued[:4] + "!" + issued[4:]):
        respelled = await client.post(
            SEARCH, json={"query": "honey lava notice", "top_k": 1, "cursor": altered}, headers=corpus.account.headers
        )
        error_of(respelled, 422, "INVALID_CURSOR")


async def test_a_query_of_stop_words_finds_nothing_by_keyword(client: httpx.AsyncClient, corpus: Corpus) -> None:
    result = await search(client, corpus, query="the and of", mode="keyword")

    assert result["items"] == []
    assert result["next_cursor"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"query": ""},
        {"query": "   \n\t "},
        {"query": "x" * 1001},
        {"query": "bees", "top_k": 0},
        {"query": "bees", "top_k": 101},
        {"query": "bees", "mode": "semantic"},
        {"query": "bees", "filters": {"colour": "red"}},
        {"query": "bees", "filters": {"file_types": ["exe"]}},
        {"query": "bees", "filters": {"document_ids": ["not-a-uuid"]}},
        {"query": "bees", "filters": {"metadata": {"team": {"nested": True}}}},
        {
            "query": "bees",
            "filters": {"created_after": "2026-02-01T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"},
        },
        {"query": "bees", "hybrid": {"k": 0}},
        {"query": "bees\u0000"},
        {"query": ["bees"]},
    ],
)
async def test_absurd_requests_get_a_clear_422(client: httpx.AsyncClient, corpus: Corpus, body: dict[str, Any]) -> None:
    response = await client.post(SEARCH, json=body, headers=corpus.account.headers)

    error_of(response, 422, "VALIDATION_ERROR")


async def test_every_search_is_logged(app: FastAPI, client: httpx.AsyncClient, corpus: Corpus) -> None:
    await search(client, corpus, query="waggle   dance", mode="keyword", top_k=2, filters={"tags": {"any": ["nature"]}})

    async with app.state.sessionmaker() as session:
        logged = (await session.scalars(select(SearchQuery).order_by(SearchQuery.id.desc()).limit(1))).one()
    assert logged.org_id == corpus.account.org_id
    assert logged.user_id == corpus.account.user_id
    assert (logged.query, logged.mode, logged.top_k, logged.hit_count) == ("waggle dance", "keyword", 2, 1)
    assert logged.filters == {"tags": {"any": ["nature"]}}
    assert logged.latency_ms > 0


async def test_search_needs_the_search_scope(client: httpx.AsyncClient, corpus: Corpus) -> None:
    key = await create_api_key(client, corpus.account, scopes=["documents:read"])

    response = await client.post(SEARCH, json={"query": "bees"}, headers={"X-API-Key": key["secret"]})

    error_of(response, 403, "FORBIDDEN")


async def test_another_organization_finds_nothing(client: httpx.AsyncClient, corpus: Corpus) -> None:
    stranger = await register(client)

    response = await client.post(
        SEARCH, json={"query": "honey lava notice sourdough", "top_k": 100}, headers=stranger.headers
    )

    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_term_statistics_count_the_live_chunks(app: FastAPI, corpus: Corpus) -> None:
    async with app.state.sessionmaker() as session:
        stored, recount = await stored_and_recounted_terms(session, corpus.account.org_id)
        corpus_row = (
            await session.execute(
                text("SELECT chunks FROM search_corpora WHERE org_id = :org"), {"org": corpus.account.org_id}
            )
        ).scalar_one()
        live = await session.scalar(select(func.count()).select_from(text("chunks")))
    assert stored == recount
    assert stored["honey"] == 1
    assert corpus_row == live == len(CORPUS)
