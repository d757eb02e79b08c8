"""Answers, chats and the OpenAI-compatible endpoint with no language model configured: the offline extractive
engine answers from a small corpus ingested once for the module."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import openai
import pytest
from fastapi import FastAPI

from folio.llm.extractive import NO_ANSWER
from folio.main import create_app
from tests.conftest import empty_tables, make_settings
from tests.corpus import Doc, ingest
from tests.factories import Account, add_member, create_api_key, error_of, register
from tests.live_server import serve_in_thread

ANSWERS = "/api/v1/answers"
CHATS = "/api/v1/chats"

CORPUS = {
    "contract": Doc(
        "contract.txt",
        "Master services agreement.\n\nEither party may terminate this agreement with ninety days written notice. "
        "Invoices are payable within thirty days of receipt. Late payments accrue interest at two percent per month.",
        ["legal"],
    ),
    "bees": Doc(
        "bees.md",
        "# Beekeeping\n\nHoney bees tell the hive where flowers are with a waggle dance. "
        "A colony survives the winter on its stored honey.",
        ["nature"],
    ),
}


@dataclass
class Corpus:
    account: Account
    ids: dict[str, UUID]


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's corpus lives until the module ends (see `corpus`)."""


@pytest.fixture(scope="module")
async def corpus(app: FastAPI) -> AsyncIterator[Corpus]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        account = await register(client)
        ids, _ = await ingest(client, account, CORPUS)
        yield Corpus(account, ids)
    await empty_tables(app)


def sse_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_an_answer_quotes_and_cites_its_source(client: httpx.AsyncClient, corpus: Corpus) -> None:
    response = await client.post(
        ANSWERS,
        json={"question": "How much notice is needed to terminate the agreement?"},
        headers=corpus.account.headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["answered"] is True
    assert body["model"] == "folio-extractive"
    assert body["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    assert "ninety days written notice" in body["answer"]
    citation = body["citations"][0]
    assert citation["document_id"] == str(corpus.ids["contract"])
    assert f"[{citation['marker']}]" in body["answer"]
    assert citation["page"] is None  # a .txt has no pages
    source = next(source for source in body["sources"] if source["marker"] == citation["marker"])
    assert citation["quote"] in source["text"]
    assert "terminate this agreement with ninety days written notice" in citation["quote"]


async def test_a_question_the_documents_do_not_answer_says_so(client: httpx.AsyncClient, corpus: Corpus) -> None:
    response = await client.post(
        ANSWERS, json={"question": "Which football team won the 1998 world cup?"}, headers=corpus.account.headers
    )

    body = response.json()
    assert body["answered"] is False
    assert body["answer"] == NO_ANSWER
    assert body["citations"] == []


async def test_no_matching_documents_means_no_sources(client: httpx.AsyncClient, corpus: Corpus) -> None:
    response = await client.post(
        ANSWERS,
        json={"question": "How much notice is needed?", "filters": {"tags": {"any": ["nowhere"]}}},
        headers=corpus.account.headers,
    )

    body = response.json()
    assert (body["answered"], body["answer"], body["sources"], body["citations"]) == (False, NO_ANSWER, [], [])


async def test_a_streamed_answer_sends_sources_then_text_then_done(client: httpx.AsyncClient, corpus: Corpus) -> None:
    response = await client.post(
        ANSWERS,
        json={"question": "How do bees tell the hive where flowers are?", "stream": True},
        headers=corpus.account.headers,
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    names = [name for name, _ in events]
    assert names[0] == "sources"
    assert names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    text = "".join(data["text"] for name, data in events if name == "delta")
    assert "waggle dance" in text
    done = events[-1][1]
    assert done["answered"] is True
    assert done["citations"][0]["document_id"] == str(corpus.ids["bees"])


@pytest.mark.parametrize(
    "body",
    [{"question": ""}, {"question": "  "}, {"question": "x" * 2001}, {"question": "q", "top_k": 21}, {"q": "x"}],
)
async def test_bad_questions_get_a_clear_422(client: httpx.AsyncClient, corpus: Corpus, body: dict[str, Any]) -> None:
    response = await client.post(ANSWERS, json=body, headers=corpus.account.headers)

    error_of(response, 422, "VALIDATION_ERROR")


async def test_answers_need_the_answers_scope(client: httpx.AsyncClient, corpus: Corpus) -> None:
    key = await create_api_key(client, corpus.account, scopes=["search"])

    response = await client.post(ANSWERS, json={"question": "notice?"}, headers={"X-API-Key": key["secret"]})

    error_of(response, 403, "FORBIDDEN")


async def test_another_organization_gets_no_answer_from_these_documents(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    stranger = await register(client)

    response = await client.post(ANSWERS, json={"question": "How much notice to terminate?"}, headers=stranger.headers)

    assert response.json()["sources"] == []


async def test_a_chat_keeps_its_turns_and_reads_follow_ups_against_the_history(
    client: httpx.AsyncClient, corpus: Corpus
) -> None:
    headers = corpus.account.headers
    chat = (await client.post(CHATS, json={"filters": {"tags": {"any": ["legal"]}}}, headers=headers)).json()

    first = await client.post(
        f"{CHATS}/{chat['id']}/messages", json={"content": "When are invoices payable?"}, headers=headers
    )
    follow_up = await client.post(
        f"{CHATS}/{chat['id']}/messages", json={"content": "And if they are late?"}, headers=headers
    )
    stored = (await client.get(f"{CHATS}/{chat['id']}", headers=headers)).json()

    assert first.status_code == 200, first.text
    assert "thirty days" in first.json()["answer"]["content"]
    assert follow_up.json()["question"]["standalone_question"] == "When are invoices payable? And if they are late?"
    assert "interest" in follow_up.json()["answer"]["content"]
    assert stored["title"] == "When are invoices payable?"
    assert [message["role"] for message in stored["messages"]] == ["user", "assistant", "user", "assistant"]
    assert stored["messages"][1]["citations"][0]["document_id"] == str(corpus.ids["contract"])
    assert stored["messages"][1]["model"] == "folio-extractive"


async def test_a_chat_answers_only_from_its_filters(client: httpx.AsyncClient, corpus: Corpus) -> None:
    headers = corpus.account.headers
    chat = (await client.post(CHATS, json={"filters": {"tags": {"any": ["nature"]}}}, headers=headers)).json()

    reply = await client.post(
        f"{CHATS}/{chat['id']}/messages",
        json={"content": "How much notice to terminate the agreement?"},
        headers=headers,
    )

    assert all(source["document_id"] == str(corpus.ids["bees"]) for source in reply.json()["sources"])


async def test_a_streamed_chat_turn_is_stored(client: httpx.AsyncClient, corpus: Corpus) -> None:
    headers = corpus.account.headers
    chat = (await client.post(CHATS, json={}, headers=headers)).json()

    response = await client.post(
        f"{CHATS}/{chat['id']}/messages",
        json={"content": "How does a colony survive the winter?", "stream": True},
        headers=headers,
    )
    done = sse_events(response.text)[-1][1]
    stored = (await client.get(f"{CHATS}/{chat['id']}", headers=headers)).json()

    assert done["message_id"] == stored["messages"][-1]["id"]
    assert "stored honey" in stored["messages"][-1]["content"]


async def test_chats_are_private_to_whoever_started_them(client: httpx.AsyncClient, corpus: Corpus) -> None:
    colleague = await register(client)
    await add_member(client, corpus.account, colleague, "admin")
    colleague_headers = colleague.in_org(corpus.account.org_id)
    chat = (await client.post(CHATS, json={"title": "mine"}, headers=corpus.account.headers)).json()
    key = await create_api_key(client, corpus.account, scopes=["answers"])

    read = await client.get(f"{CHATS}/{chat['id']}", headers=colleague_headers)
    post = await client.post(f"{CHATS}/{chat['id']}/messages", json={"content": "hi"}, headers=colleague_headers)
    by_key = await client.get(f"{CHATS}/{chat['id']}", headers={"X-API-Key": key["secret"]})
    listed = (await client.get(CHATS, headers=colleague_headers)).json()

    error_of(read, 404, "CHAT_NOT_FOUND")
    error_of(post, 404, "CHAT_NOT_FOUND")
    error_of(by_key, 404, "CHAT_NOT_FOUND")
    assert listed["items"] == []


async def test_chats_are_listed_with_a_cursor(client: httpx.AsyncClient, corpus: Corpus) -> None:
    owner = await register(client)
    created = [(await client.post(CHATS, json={"title": f"chat {n}"}, headers=owner.headers)).json() for n in range(3)]

    first = (await client.get(CHATS, params={"limit": 2}, headers=owner.headers)).json()
    second = (
        await client.get(CHATS, params={"limit": 2, "cursor": first["next_cursor"]}, headers=owner.headers)
    ).json()

    assert [chat["id"] for chat in first["items"] + second["items"]] == [chat["id"] for chat in created]
    assert second["next_cursor"] is None


@pytest.fixture(scope="module")
def live_url(database_url: str, corpus: Corpus) -> Iterator[str]:
    with serve_in_thread(create_app(make_settings(database_url))) as url:
        yield url


@pytest.fixture
async def folio_openai(client: httpx.AsyncClient, corpus: Corpus, live_url: str) -> AsyncIterator[openai.AsyncOpenAI]:
    key = await create_api_key(client, corpus.account, scopes=["answers"])
    async with openai.AsyncOpenAI(base_url=f"{live_url}/v1", api_key=key["secret"], max_retries=0) as model:
        yield model


async def test_the_openai_client_lists_the_answering_model(folio_openai: openai.AsyncOpenAI) -> None:
    models = await folio_openai.models.list()

    assert [model.id for model in models.data] == ["folio-extractive", "all-MiniLM-L6-v2-int8"]


async def test_the_openai_client_gets_a_cited_answer(folio_openai: openai.AsyncOpenAI, corpus: Corpus) -> None:
    completion = await folio_openai.chat.completions.create(
        model="anything", messages=[{"role": "user", "content": "How much notice to terminate the agreement?"}]
    )

    assert completion.model == "folio-extractive"
    assert completion.choices[0].finish_reason == "stop"
    content = completion.choices[0].message.content or ""
    assert "ninety days written notice" in content
    citations = (completion.model_extra or {})["citations"]
    assert citations[0]["document_id"] == str(corpus.ids["contract"])


async def test_the_openai_client_streams_an_answer(folio_openai: openai.AsyncOpenAI) -> None:
    stream = await folio_openai.chat.completions.create(
        model="folio",
        messages=[
            {"role": "user", "content": "Tell me about the bees."},
            {"role": "assistant", "content": "Honey bees dance."},
            {"role": "user", "content": "How do they tell the hive where flowers are?"},
        ],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert "waggle dance" in text
    assert chunks[0].choices[0].delta.role == "assistant"
    finish = [chunk for chunk in chunks if chunk.choices and chunk.choices[0].finish_reason == "stop"]
    assert len(finish) == 1
    assert (finish[0].model_extra or {})["citations"]
    assert chunks[-1].usage is not None
    assert chunks[-1].choices == []


async def test_the_openai_client_sees_errors_as_openai_errors(live_url: str, folio_openai: openai.AsyncOpenAI) -> None:
    async with openai.AsyncOpenAI(base_url=f"{live_url}/v1", api_key="fk_wrong", max_retries=0) as stranger:
        with pytest.raises(openai.AuthenticationError):
            await stranger.models.list()
    with pytest.raises(openai.BadRequestError) as raised:
        await folio_openai.chat.completions.create(model="folio", messages=[{"role": "assistant", "content": "hi"}])
    assert (raised.value.param, raised.value.type) == ("messages", "invalid_request_error")
