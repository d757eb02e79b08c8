"""Exact citations (issue 18, item 7): a quote is cited by the page it is on, not its chunk's first page, and by
its offsets in the document's content, through the offline engine and a language model (the OpenAI-compatible
fake upstream), in JSON answers, streams, chats and `/v1/chat/completions`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from folio.main import create_app
from tests.answers.test_offline import sse_events
from tests.conftest import empty_tables, make_settings
from tests.factories import Account, register, wait_until_finished
from tests.fake_openai import FakeOpenAI, llm_settings, serve_fake_openai
from tests.ingestion.fixtures import write_pdf

ANSWERS = "/api/v1/answers"
# One chunk from page 1 to page 3: a sentence on page 3, and one that runs from page 2 onto page 3.
LEASE_PAGES = [
    [
        "Residential lease agreement for the flat at Canal Street 12.",
        "The tenant pays the rent by bank transfer",
        "before the fifth day of each month.",
    ],
    [
        "The landlord maintains the heating and the plumbing.",
        "A tenant who pays the rent after that day owes a late fee of",
    ],
    [
        "forty euros for every week of delay.",
        "The security deposit is returned within thirty days",
        "after the keys are handed back.",
    ],
]
ON_PAGE_ONE = "The tenant pays the rent by bank transfer\nbefore the fifth day of each month."
ON_PAGE_THREE = "The security deposit is returned within thirty days\nafter the keys are handed back."
ACROSS_PAGES = "A tenant who pays the rent after that day owes a late fee of\n\nforty euros for every week of delay."
DEPOSIT = "When is the security deposit returned to the tenant?"
LATE_FEE = "How much is the late fee when the rent is paid late?"
HOUSE_RULES = (
    "# House rules\n\nQuiet hours run from ten at night\nuntil seven in the morning.\n\n"
    "Bicycles are kept in the shed behind the building."
)
QUIET_HOURS = "Quiet hours run from ten at night\nuntil seven in the morning."


@dataclass
class Corpus:
    account: Account
    lease: UUID
    rules: UUID
    contents: dict[UUID, dict[str, Any]]


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's corpus lives until the module ends (see `corpus`)."""


async def upload(client: httpx.AsyncClient, account: Account, name: str, content: bytes, media_type: str) -> UUID:
    response = await client.post(
        "/api/v1/documents", files=[("files", (name, content, media_type))], headers=account.headers
    )
    assert response.status_code == 202, response.text
    item = response.json()["items"][0]
    job = await wait_until_finished(client, account, UUID(item["job_id"]), seconds=90)
    assert job["status"] == "succeeded", job
    return UUID(item["document"]["id"])


@pytest.fixture(scope="module")
async def corpus(app: FastAPI, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Corpus]:
    pdf = write_pdf(tmp_path_factory.mktemp("citations") / "lease.pdf", LEASE_PAGES).read_bytes()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        account = await register(client)
        lease = await upload(client, account, "lease.pdf", pdf, "application/pdf")
        rules = await upload(client, account, "house-rules.md", HOUSE_RULES.encode(), "text/markdown")
        contents = {}
        for document_id in (lease, rules):
            response = await client.get(f"/api/v1/documents/{document_id}/content", headers=account.headers)
            assert response.status_code == 200, response.text
            contents[document_id] = response.json()
        yield Corpus(account, lease, rules, contents)
    await empty_tables(app)


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
async def model_client(database_url: str, fake_model: FakeOpenAI, corpus: Corpus) -> AsyncIterator[httpx.AsyncClient]:
    """The same documents, answered by a language model (the fake upstream) instead of the offline engine."""
    application = create_app(make_settings(database_url, llm=llm_settings(fake_model)))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        yield client


@pytest.fixture(scope="module")
async def offline_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


def citing(citations: list[dict[str, Any]], words: str) -> dict[str, Any]:
    """The one citation whose quote holds `words`."""
    (found,) = [citation for citation in citations if words in citation["quote"]]
    return found


def assert_exact(corpus: Corpus, citation: dict[str, Any], quote: str, document_id: UUID) -> None:
    """The citation quotes `quote` verbatim, and its offsets find exactly that in the content a client fetches."""
    content = corpus.contents[document_id]
    assert citation["document_id"] == str(document_id)
    assert citation["quote"] == quote
    assert content["text"][citation["start_char"] : citation["end_char"]] == quote
    assert citation["document_version"] == content["version"]


async def ask(client: httpx.AsyncClient, corpus: Corpus, question: str, document_id: UUID, **body: Any) -> Any:
    response = await client.post(
        ANSWERS,
        json={"question": question, "filters": {"document_ids": [str(document_id)]}, **body},
        headers=corpus.account.headers,
    )
    assert response.status_code == 200, response.text
    return response


async def test_a_quote_on_page_three_of_a_chunk_from_page_one_cites_page_three(
    offline_client: httpx.AsyncClient, corpus: Corpus
) -> None:
    body = (await ask(offline_client, corpus, DEPOSIT, corpus.lease)).json()

    citation = citing(body["citations"], "security deposit")
    (source,) = [source for source in body["sources"] if source["marker"] == citation["marker"]]
    assert (source["page_start"], source["page_end"]) == (1, 3)
    assert (citation["page"], citation["page_end"]) == (3, None)
    assert_exact(corpus, citation, ON_PAGE_THREE, corpus.lease)


async def test_a_quote_across_a_page_break_cites_both_pages(offline_client: httpx.AsyncClient, corpus: Corpus) -> None:
    body = (await ask(offline_client, corpus, LATE_FEE, corpus.lease)).json()

    citation = citing(body["citations"], "late fee")
    assert (citation["page"], citation["page_end"]) == (2, 3)
    assert_exact(corpus, citation, ACROSS_PAGES, corpus.lease)
    assert "owes a late fee of forty euros for every week of delay." in body["answer"]


async def test_a_markdown_quote_has_offsets_and_no_pages(offline_client: httpx.AsyncClient, corpus: Corpus) -> None:
    body = (await ask(offline_client, corpus, "When are the quiet hours?", corpus.rules)).json()

    citation = citing(body["citations"], "Quiet hours")
    assert (citation["page"], citation["page_end"]) == (None, None)
    assert_exact(corpus, citation, QUIET_HOURS, corpus.rules)


async def test_every_quoted_sentence_is_cited_where_it_stands(
    offline_client: httpx.AsyncClient, corpus: Corpus
) -> None:
    body = (await ask(offline_client, corpus, "What does the tenant pay, and when?", corpus.lease)).json()

    assert body["citations"]
    for citation in body["citations"]:
        content = corpus.contents[corpus.lease]["text"]
        assert content[citation["start_char"] : citation["end_char"]] == citation["quote"]
        assert " ".join(citation["quote"].split()) in body["answer"]
        pages = [page for page in corpus.contents[corpus.lease]["pages"] if page["start"] <= citation["start_char"]]
        assert citation["page"] == pages[-1]["number"]


async def test_a_streamed_answer_and_a_chat_carry_the_same_citation(
    offline_client: httpx.AsyncClient, corpus: Corpus
) -> None:
    headers = corpus.account.headers
    whole = citing((await ask(offline_client, corpus, DEPOSIT, corpus.lease)).json()["citations"], "deposit")
    streamed = await ask(offline_client, corpus, DEPOSIT, corpus.lease, stream=True)
    chat = (
        await offline_client.post(
            "/api/v1/chats", json={"filters": {"document_ids": [str(corpus.lease)]}}, headers=headers
        )
    ).json()
    reply = await offline_client.post(
        f"/api/v1/chats/{chat['id']}/messages", json={"content": DEPOSIT}, headers=headers
    )
    stored = (await offline_client.get(f"/api/v1/chats/{chat['id']}", headers=headers)).json()

    done = sse_events(streamed.text)[-1]
    assert done[0] == "done"
    assert citing(done[1]["citations"], "deposit") == whole
    assert citing(reply.json()["answer"]["citations"], "deposit") == whole
    assert citing(stored["messages"][-1]["citations"], "deposit") == whole
    assert (whole["page"], whole["page_end"]) == (3, None)


async def test_a_generated_answer_cites_the_page_and_offsets_of_its_source_sentence(
    model_client: httpx.AsyncClient, fake_model: FakeOpenAI, corpus: Corpus
) -> None:
    fake_model.replies.append("Tenants get the deposit back within thirty days of handing back the keys [1].")

    body = (await ask(model_client, corpus, DEPOSIT, corpus.lease)).json()

    assert body["model"] == "fake-chat"
    (citation,) = body["citations"]
    assert (citation["page"], citation["page_end"]) == (3, None)
    assert_exact(corpus, citation, ON_PAGE_THREE, corpus.lease)


async def test_a_generated_answer_cites_a_passage_across_pages_in_a_stream(
    model_client: httpx.AsyncClient, fake_model: FakeOpenAI, corpus: Corpus
) -> None:
    fake_model.replies.append("Paying late costs forty euros for each week of delay [1].")

    response = await ask(model_client, corpus, LATE_FEE, corpus.lease, stream=True)

    name, done = sse_events(response.text)[-1]
    assert name == "done"
    (citation,) = done["citations"]
    assert (citation["page"], citation["page_end"]) == (2, 3)
    assert_exact(corpus, citation, ACROSS_PAGES, corpus.lease)


async def test_a_generated_answer_cites_each_claim_with_its_own_passage(
    model_client: httpx.AsyncClient, fake_model: FakeOpenAI, corpus: Corpus
) -> None:
    fake_model.replies.append(
        "Rent is paid by bank transfer before the fifth day [1]. The deposit comes back within thirty days [1]."
    )

    body = (await ask(model_client, corpus, "How do rent and the deposit work?", corpus.lease)).json()

    assert [(citation["marker"], citation["page"]) for citation in body["citations"]] == [(1, 1), (1, 3)]
    assert body["citations"][0]["quote"] == ON_PAGE_ONE
    assert_exact(corpus, body["citations"][1], ON_PAGE_THREE, corpus.lease)


async def test_the_openai_compatible_endpoint_carries_the_same_fields(
    model_client: httpx.AsyncClient, fake_model: FakeOpenAI, corpus: Corpus
) -> None:
    fake_model.replies.append("The quiet hours are from ten at night until seven in the morning [1].")

    response = await model_client.post(
        "/v1/chat/completions",
        json={
            "model": "folio",
            "messages": [{"role": "user", "content": "When are the quiet hours?"}],
            "filters": {"document_ids": [str(corpus.rules)]},
        },
        headers=corpus.account.headers,
    )

    assert response.status_code == 200, response.text
    (citation,) = response.json()["citations"]
    assert (citation["page"], citation["page_end"]) == (None, None)
    assert_exact(corpus, citation, QUIET_HOURS, corpus.rules)
