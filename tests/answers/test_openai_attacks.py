"""/v1 as an attacker sees it, over real HTTP: oversized, too many, NUL, nested too deep, a hundred at once; a few
embedding requests of one organization at a time; no database connection held while embedding; errors in OpenAI's
shape on /v1 only."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import httpx
import numpy as np
import openai
import pytest
from fastapi import FastAPI

from folio.answers.openai_embeddings import ORG_IN_FLIGHT
from folio.main import create_app
from tests.conftest import make_settings
from tests.connections import Lent, lent_while_served
from tests.factories import Account, create_api_key, error_of, register
from tests.live_server import serve_in_thread

MODEL = "all-MiniLM-L6-v2-int8"
EMBEDDINGS = "/v1/embeddings"


@dataclass
class Probe:
    """Wraps the served app's embedder: notes the connections its request holds at each call (not the pool's: the
    app's own loops share it), and can hold calls back."""

    connections: Lent
    embed: Any
    lent: list[int] = field(default_factory=list)
    held: threading.Event | None = None
    entered: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))

    async def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.lent.append(self.connections.to_this_request())
        self.entered.release()
        if self.held is not None:
            await anyio.to_thread.run_sync(self.held.wait)
        vectors: np.ndarray = await self.embed(texts)
        return vectors


@dataclass
class Live:
    url: str
    app: FastAPI
    account: Account
    key: str
    probe: Probe

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture(scope="module")
def served(database_url: str) -> Iterator[tuple[str, FastAPI, Lent]]:
    application = create_app(make_settings(database_url))
    connections = lent_while_served(application)
    with serve_in_thread(application) as url:
        yield url, application, connections


@pytest.fixture
async def live(client: httpx.AsyncClient, served: tuple[str, FastAPI, Lent]) -> AsyncIterator[Live]:
    url, application, connections = served
    account = await register(client)
    key = await create_api_key(client, account, scopes=["answers"])
    provider = await anyio.to_thread.run_sync(application.state.embedder.get)
    embed = provider.embed
    probe = Probe(connections, embed)
    provider.embed = probe
    try:
        yield Live(url, application, account, key["secret"], probe)
    finally:
        if probe.held is not None:
            probe.held.set()
        provider.embed = embed


async def post(live: Live, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """POST `body`: JSON text as it is, anything else as JSON."""
    content = body if isinstance(body, str) else json.dumps(body)
    async with httpx.AsyncClient(base_url=live.url, timeout=60) as http:
        return await http.post(
            path, content=content, headers={**live.headers, "Content-Type": "application/json", **(headers or {})}
        )


def embedding(input: Any) -> dict[str, Any]:
    return {"model": MODEL, "input": input}


def nested(depth: int, leaf: str = '"x"') -> str:
    return "[" * depth + leaf + "]" * depth


def openai_error(response: httpx.Response, status: int, param: str | None, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["param"], error["code"]) == (param, code), error
    assert error["message"]
    return error


async def test_ten_thousand_inputs_are_refused_before_any_is_embedded(live: Live) -> None:
    response = await post(live, EMBEDDINGS, embedding(["a"] * 10_000))

    error = openai_error(response, 400, "input", "too_many_inputs")
    assert "2048" in error["message"]
    assert live.probe.lent == []


async def test_a_body_over_the_limit_is_refused_before_it_is_read(live: Live) -> None:
    response = await post(live, EMBEDDINGS, embedding("x" * 1_100_000))

    # The outermost middleware answers before any route: Folio's envelope, which OpenAI's clients read as well.
    error_of(response, 413, "PAYLOAD_TOO_LARGE")
    assert live.probe.lent == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (EMBEDDINGS, embedding(["fine", "a\x00b"])),
        (EMBEDDINGS, json.dumps(embedding("a\x00b")).replace("\\u0000", "\x00")),
        ("/v1/chat/completions", {"model": "folio", "messages": [{"role": "user", "content": "a\x00b"}]}),
    ],
)
async def test_a_nul_character_is_a_bad_request(live: Live, path: str, body: Any) -> None:
    response = await post(live, path, body)

    openai_error(response, 400, None, "VALIDATION_ERROR")
    assert live.probe.lent == []


async def test_json_nested_too_deep_is_a_bad_request(live: Live) -> None:
    too_deep = f'{{"model": "{MODEL}", "input": {nested(5000)}}}'
    deep = f'{{"model": "{MODEL}", "input": {nested(50)}}}'
    tools = f'{{"model": "folio", "messages": [{{"role": "user", "content": "hi"}}], "tools": {nested(500, "1")}}}'

    error = openai_error(await post(live, EMBEDDINGS, too_deep), 400, None, "VALIDATION_ERROR")
    assert "nested too deep" in error["message"]
    assert "Token-id" in openai_error(await post(live, EMBEDDINGS, deep), 400, "input", "unsupported_value")["message"]
    openai_error(await post(live, "/v1/chat/completions", tools), 400, "tools", "unsupported_parameter")


async def test_invalid_json_is_a_bad_request_about_no_field(live: Live) -> None:
    openai_error(await post(live, EMBEDDINGS, '{"model": '), 400, None, "VALIDATION_ERROR")


async def test_a_hundred_embedding_requests_at_once_are_served_or_told_to_retry(live: Live) -> None:
    texts = [f"request number {number}" for number in range(100)]
    async with openai.AsyncOpenAI(base_url=f"{live.url}/v1", api_key=live.key, max_retries=0) as folio:
        results = await asyncio.gather(
            *(folio.embeddings.create(model=MODEL, input=text) for text in texts), return_exceptions=True
        )

    served = [
        (text, result) for text, result in zip(texts, results, strict=True) if not isinstance(result, BaseException)
    ]
    refused = [result for result in results if isinstance(result, BaseException)]
    assert served
    assert all(isinstance(error, openai.RateLimitError) for error in refused), refused
    expected = live.app.state.embedder.get().embed_sync([text for text, _ in served])
    got = np.asarray([result.data[0].embedding for _, result in served], dtype=np.float32)
    assert np.array_equal(got, expected)


async def test_an_organization_embeds_a_few_requests_at_a_time(live: Live, client: httpx.AsyncClient) -> None:
    live.probe.held = threading.Event()
    body = embedding("held back")
    running = [asyncio.create_task(post(live, EMBEDDINGS, body)) for _ in range(ORG_IN_FLIGHT)]
    for _ in running:
        assert await anyio.to_thread.run_sync(lambda: live.probe.entered.acquire(timeout=60))

    one_more = await post(live, EMBEDDINGS, body)
    other = await register(client)
    other_key = await create_api_key(client, other, scopes=["answers"])
    other_org = asyncio.create_task(post(live, EMBEDDINGS, body, {"Authorization": f"Bearer {other_key['secret']}"}))
    assert await anyio.to_thread.run_sync(lambda: live.probe.entered.acquire(timeout=60))
    live.probe.held.set()

    error = openai_error(one_more, 429, None, "RATE_LIMIT_EXCEEDED")
    assert error["type"] == "rate_limit_error"
    assert one_more.headers["retry-after"] == "1"
    assert [response.status_code for response in await asyncio.gather(*running, other_org)] == [200] * 3


async def test_embedding_holds_no_database_connection(live: Live) -> None:
    response = await post(live, EMBEDDINGS, embedding(["one", "two"]))

    assert response.status_code == 200, response.text
    assert live.probe.lent == [0]


async def test_an_unexpected_failure_is_a_server_error_in_openais_shape(live: Live) -> None:
    async def broken(texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("the model broke")

    live.probe.embed = broken
    response = await post(live, EMBEDDINGS, embedding("x"))

    error = openai_error(response, 500, None, "INTERNAL_ERROR")
    assert error["type"] == "server_error"
    assert "the model broke" not in response.text
    assert response.headers["x-request-id"]


async def test_a_known_url_with_another_method_is_not_allowed(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        response = await http.get(EMBEDDINGS, headers=live.headers)

    assert openai_error(response, 405, None, "METHOD_NOT_ALLOWED")["type"] == "invalid_request_error"
    assert response.headers["allow"] == "POST"


async def test_a_nul_in_the_url_is_refused_before_routing(live: Live) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        response = await http.get("/v1/models/a%00b", headers=live.headers)

    error_of(response, 422, "VALIDATION_ERROR")


async def test_the_rest_of_the_api_keeps_folios_envelope_and_422(live: Live) -> None:
    response = await post(live, "/api/v1/answers", {"question": ""})

    error_of(response, 422, "VALIDATION_ERROR")
