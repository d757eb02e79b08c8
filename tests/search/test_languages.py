"""Documents in other languages, through the API: each is detected, indexed with its language's configuration (or
with CJK pairs), and found by its own words, inflected as a reader would write them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from folio.models import Chunk
from folio.search import languages
from tests.conftest import empty_tables
from tests.corpus import Doc, ingest
from tests.factories import Account, register
from tests.search.terms import stored_and_recounted_terms

SEARCH = "/api/v1/search"

CORPUS = {
    "notice": Doc(
        "kuendigung.txt",
        "Die Kündigungsfrist für den Mietvertrag beträgt drei Monate. Der Mieter muss die Kündigung schriftlich "
        "einreichen, und der Vermieter bestätigt den Eingang innerhalb einer Woche.",
    ),
    "term": Doc(
        "laufzeit.txt",
        "Der Vertrag hat eine Laufzeit von zwei Jahren und verlängert sich danach automatisch um ein weiteres Jahr, "
        "wenn keine der beiden Parteien widerspricht.",
    ),
    "library": Doc(
        "library.txt",
        "北京大学的图书馆是中国最大的大学图书馆之一。学生可以在图书馆借书，也可以在阅览室学习。开放时间是每天早上八点到晚上十点。",
    ),
    "menu": Doc(
        "menu.txt",
        "这家餐厅的菜单上有很多四川菜。服务员推荐了麻婆豆腐和宫保鸡丁，价格都很便宜。",
    ),
    "refunds": Doc(
        "refunds.txt",
        "Customers may return any product within thirty days of delivery. Refunds are paid to the original card "
        "once the warehouse has inspected the returned item.",
    ),
    "visit": Doc(
        "visit.txt",
        "The delegation visited 北京大学 in May and signed a research agreement on climate models with its "
        "department of atmospheric sciences.",
    ),
}


@dataclass
class Corpus:
    account: Account
    ids: dict[str, UUID]

    def names(self, result: dict[str, Any]) -> list[str]:
        by_id = {str(value): name for name, value in self.ids.items()}
        return [by_id[hit["document_id"]] for hit in result["items"]]


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's corpus lives until the module ends (see `corpus`); tests here only read."""


@pytest.fixture(scope="module")
async def corpus(app: FastAPI) -> AsyncIterator[Corpus]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        account = await register(client)
        ids, _ = await ingest(client, account, CORPUS)
        yield Corpus(account, ids)
    await empty_tables(app)


async def search(client: httpx.AsyncClient, corpus: Corpus, query: str, mode: str = "keyword") -> dict[str, Any]:
    response = await client.post(SEARCH, json={"query": query, "mode": mode}, headers=corpus.account.headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize(("name", "language"), [("notice", "de"), ("library", "zh"), ("refunds", "en")])
async def test_each_document_s_language_is_detected_and_shown(
    client: httpx.AsyncClient, corpus: Corpus, name: str, language: str
) -> None:
    response = await client.get(f"/api/v1/documents/{corpus.ids[name]}", headers=corpus.account.headers)

    assert response.status_code == 200
    assert response.json()["language"] == language


async def test_chunks_are_indexed_with_their_language_s_configuration(app: FastAPI, corpus: Corpus) -> None:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(select(Chunk.document_id, Chunk.search_config, Chunk.search_text))
        by_document = {document_id: (config, paired) for document_id, config, paired in rows.all()}

    assert by_document[corpus.ids["notice"]] == ("german", None)
    assert by_document[corpus.ids["refunds"]] == ("english", None)
    config, paired = by_document[corpus.ids["library"]]
    assert config == languages.SIMPLE
    assert paired is not None
    assert " 图书 书馆 " in paired


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
async def test_a_german_document_is_found_by_an_inflected_form_of_its_words(
    client: httpx.AsyncClient, corpus: Corpus, mode: str
) -> None:
    # The document says "Kündigungsfrist"; German stemming makes the plural the same lexeme.
    result = await search(client, corpus, "Kündigungsfristen", mode)

    assert corpus.names(result)[0] == "notice"
    assert "<mark>Kündigungsfrist</mark>" in result["items"][0]["snippet"]


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
async def test_a_chinese_document_is_found_by_a_chinese_word(
    client: httpx.AsyncClient, corpus: Corpus, mode: str
) -> None:
    result = await search(client, corpus, "图书馆", mode)

    assert corpus.names(result)[0] == "library"
    assert "<mark>图书馆</mark>" in result["items"][0]["snippet"]


async def test_an_english_passage_with_a_chinese_name_is_found_and_marked_by_either(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    by_english = await search(client, corpus, "agreements")
    by_chinese = await search(client, corpus, "北京大学")

    assert corpus.names(by_english) == ["visit"]
    assert "<mark>agreement</mark>" in by_english["items"][0]["snippet"]
    assert sorted(corpus.names(by_chinese)) == ["library", "visit"]
    assert all("<mark>北京大学</mark>" in hit["snippet"] for hit in by_chinese["items"])


async def test_keyword_search_finds_only_the_documents_with_the_words(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    assert corpus.names(await search(client, corpus, "麻婆豆腐")) == ["menu"]
    assert corpus.names(await search(client, corpus, "Verträge")) == ["term"]
    assert corpus.names(await search(client, corpus, "refunded products")) == ["refunds"]


async def test_phrases_and_negations_are_read_with_each_chunk_s_configuration(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    # "Mietvertrag" is in the notice only; its negated word, inflected, is German-stemmed to the notice's lexeme.
    assert corpus.names(await search(client, corpus, "Verträge Mietvertrag -Kündigungsfristen")) == ["term"]
    assert corpus.names(await search(client, corpus, '"图书馆借书"')) == ["library"]
    assert corpus.names(await search(client, corpus, "图书馆 -北京大学")) == []


async def test_term_statistics_count_the_lexemes_of_every_configuration(app: FastAPI, corpus: Corpus) -> None:
    async with app.state.sessionmaker() as session:
        stored, recount = await stored_and_recounted_terms(session, corpus.account.org_id)

    assert stored == recount
    assert stored["kundigungsfrist"] == stored["书馆"] == stored["refund"] == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("北京大学图书馆", "北京 京大 大学 学图 图书 书馆"),
        ("iPhone手机", "iPhone 手机"),
        ('"天安门" -北京', '" 天安 安门 " -" 北京 "'),
        ("東京タワー", "東京 京タ タワ ワー"),
        ("학교에서 공부", "학교 교에 에서 공부"),
        ("书", "书"),
        ("plain words", "plain words"),
    ],
)
def test_cjk_runs_become_their_pairs_at_index_and_query_time(query: str, expected: str) -> None:
    assert " ".join(languages.searchable(query).split()) == expected


@pytest.mark.parametrize(
    "query", ["图" * 1000, "-图书馆", '"图书馆', "，。！", "图书馆\u3000借书", "-北京 -大学 图书馆" * 50]
)
async def test_long_and_odd_cjk_queries_are_answered(client: httpx.AsyncClient, corpus: Corpus, query: str) -> None:
    for mode in ("keyword", "hybrid"):
        response = await client.post(SEARCH, json={"query": query[:1000], "mode": mode}, headers=corpus.account.headers)

        assert response.status_code == 200, response.text
