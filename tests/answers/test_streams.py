"""Answer streams on the wire: numbered events with a retry line first, heartbeat comments while the model is
silent, and on the OpenAI-compatible stream heartbeats the `openai` SDK does not notice."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from fastapi import FastAPI

from folio.answers.deps import sse, with_heartbeats
from folio.answers.service import Event
from folio.llm.errors import LLMTimeout
from folio.main import create_app
from tests.conftest import empty_tables, make_settings
from tests.corpus import Doc, ingest
from tests.factories import Account, create_api_key, register
from tests.fake_openai import FakeOpenAI, llm_settings, serve_fake_openai
from tests.live_server import serve_in_thread

QUESTION = "How much notice is needed to terminate the agreement?"
CORPUS = {
    "contract": Doc(
        "contract.txt",
        "Master services agreement.\n\nEither party may terminate this agreement with ninety days written notice.",
        ["legal"],
    ),
}


@dataclass
class Block:
    """One block of a `text/event-stream` body: its fields, and its comment lines."""

    fields: dict[str, str]
    comments: list[str]


def blocks(body: str) -> list[Block]:
    parsed = []
    for text in body.strip().split("\n\n"):
        lines = text.splitlines()
        fields = dict(line.split(": ", 1) for line in lines if not line.startswith(":"))
        parsed.append(Block(fields, [line.removeprefix(": ") for line in lines if line.startswith(":")]))
    return parsed


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's corpus lives until the module ends (see `account`)."""


@pytest.fixture(scope="module")
async def account(app: FastAPI) -> AsyncIterator[Account]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        owner = await register(client)
        await ingest(client, owner, CORPUS)
        yield owner
    await empty_tables(app)


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as fake:
        yield fake


def assert_numbered(events: list[Block]) -> None:
    assert [block.fields["id"] for block in events] == [str(n) for n in range(1, len(events) + 1)]
    assert events[0].fields["retry"] == "2000"
    assert all("retry" not in block.fields for block in events[1:])


async def test_a_streamed_answer_numbers_its_events_after_a_retry_line(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(
        "/api/v1/answers", json={"question": QUESTION, "stream": True}, headers=account.headers
    )

    assert response.status_code == 200, response.text
    events = blocks(response.text)
    assert_numbered(events)
    assert [block.fields["event"] for block in events][0 :: len(events) - 1] == ["sources", "done"]


async def test_a_streamed_chat_message_numbers_its_events(client: httpx.AsyncClient, account: Account) -> None:
    chat = (await client.post("/api/v1/chats", json={}, headers=account.headers)).json()

    response = await client.post(
        f"/api/v1/chats/{chat['id']}/messages", json={"content": QUESTION, "stream": True}, headers=account.headers
    )

    assert response.status_code == 200, response.text
    events = blocks(response.text)
    assert_numbered(events)
    assert json.loads(events[-1].fields["data"])["message_id"]


async def body_of(response: Any) -> AsyncIterator[str]:
    async for chunk in response.body_iterator:
        yield chunk.decode() if isinstance(chunk, bytes) else str(chunk)


async def test_heartbeats_while_the_model_is_silent_then_the_events() -> None:
    model_spoke = asyncio.Event()

    async def slow_events() -> AsyncIterator[Event]:
        yield Event("sources", {"sources": []})
        await model_spoke.wait()
        yield Event("delta", {"text": "Ninety days."})

    received: list[str] = []
    async with asyncio.timeout(10):
        async for chunk in body_of(sse(slow_events(), heartbeat_seconds=0.01)):
            received.append(chunk)
            if received.count(": heartbeat\n\n") == 2:
                model_spoke.set()

    assert received[0].startswith("event: sources\n")
    assert received[1:3] == [": heartbeat\n\n", ": heartbeat\n\n"]
    assert [block.fields["id"] for block in blocks("".join(received)) if block.fields] == ["1", "2"]
    assert received[-1].startswith("event: delta\n")


async def test_a_failure_midway_is_the_next_numbered_event() -> None:
    async def failing() -> AsyncIterator[Event]:
        yield Event("sources", {"sources": []})
        raise LLMTimeout()

    body = "".join([chunk async for chunk in body_of(sse(failing()))])

    events = blocks(body)
    assert_numbered(events)
    assert events[1].fields["event"] == "error"
    assert json.loads(events[1].fields["data"])["code"] == LLMTimeout.code


async def test_closing_a_stream_stops_reading_the_model() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[int]:
        try:
            while True:
                yield 1
                await asyncio.sleep(0)
        finally:
            closed.set()

    stream = with_heartbeats(endless(), 10)
    assert await anext(stream) == 1
    await stream.aclose()
    async with asyncio.timeout(10):
        await closed.wait()


async def test_closing_a_stream_ends_the_items_before_it_returns() -> None:
    """The reader holds an item and waits for room in the queue when the stream is closed: the items' own cleanup
    (a model stream's usage, a chat's interrupted turn) has run by the time closing returns, in the reader."""
    closed = asyncio.Event()
    third = asyncio.Event()

    async def counting() -> AsyncIterator[int]:
        try:
            for number in itertools.count(1):
                if number == 3:
                    third.set()
                yield number
        finally:
            closed.set()

    stream = with_heartbeats(counting(), 10)
    assert await anext(stream) == 1
    await third.wait()  # 2 is in the queue, 3 waits for room
    await stream.aclose()
    assert closed.is_set()


async def test_the_openai_sdk_streams_through_heartbeats(
    client: httpx.AsyncClient, account: Account, fake_model: FakeOpenAI, database_url: str
) -> None:
    key = await create_api_key(client, account, scopes=["answers"])
    fake_model.delay = 0.3
    fake_model.replies += ["Ninety days [1].", "Ninety days [1]."]
    settings = make_settings(database_url, llm=llm_settings(fake_model), events={"heartbeat_seconds": 0.01})
    request = {"model": "folio", "messages": [{"role": "user", "content": QUESTION}], "stream": True}
    try:
        with serve_in_thread(create_app(settings)) as url:
            async with httpx.AsyncClient(base_url=url, timeout=30) as http:
                raw = await http.post("/v1/chat/completions", json=request, headers={"X-API-Key": key["secret"]})
            async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key=key["secret"], max_retries=0) as folio:
                stream = await folio.chat.completions.create(
                    model="folio", messages=[{"role": "user", "content": QUESTION}], stream=True
                )
                chunks = [chunk async for chunk in stream]
    finally:
        fake_model.delay = 0

    wire = blocks(raw.text)
    assert any(block.comments == ["heartbeat"] for block in wire)
    assert all(set(block.fields) <= {"data"} for block in wire)
    assert wire[-1].fields == {"data": "[DONE]"}
    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == "Ninety days [1]."
