"""The official `openai` client, sync and async, against Folio served over real HTTP: chat completions (a fake
OpenAI-compatible model answers), embeddings by the real MiniLM, the models, and every refusal as the client's own
exception with `param` and `code`."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import openai
import pytest
from fastapi import FastAPI

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
        "Master services agreement.\n\nEither party may terminate this agreement with ninety days written notice. "
        "Invoices are payable within thirty days of receipt.",
    )
}
EMBEDDING_MODEL = "all-MiniLM-L6-v2-int8"
# Per API key: each test has a key of its own, and the rate-limit test spends one.
KEY_LIMIT = 15


@dataclass
class Live:
    url: str
    app: FastAPI
    account: Account
    fake: FakeOpenAI
    client: httpx.AsyncClient

    def embed(self, texts: list[str]) -> np.ndarray:
        """Folio's own vectors of the texts, from the served app's embedder."""
        vectors: np.ndarray = self.app.state.embedder.get().embed_sync(texts)
        return vectors


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's corpus lives until the module ends (see `live`)."""


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as fake:
        yield fake


@pytest.fixture(scope="module")
async def live(app: FastAPI, database_url: str, fake_model: FakeOpenAI) -> AsyncIterator[Live]:
    settings = make_settings(
        database_url,
        llm=llm_settings(fake_model, max_answer_tokens=512),
        rate_limit={"enabled": True, "api_key": f"{KEY_LIMIT}/hour", "user": "10000/minute"},
    )
    served = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        account = await register(client)
        await ingest(client, account, CORPUS)
        with serve_in_thread(served) as url:
            yield Live(url, served, account, fake_model, client)
    await empty_tables(app)


@pytest.fixture
async def key(live: Live) -> str:
    live.fake.requests.clear()
    live.fake.replies.clear()
    live.fake.fail_stream_after = None
    created = await create_api_key(live.client, live.account, scopes=["answers"])
    secret: str = created["secret"]
    return secret


@pytest.fixture
def folio(live: Live, key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0) as client:
        yield client


@pytest.fixture
async def async_folio(live: Live, key: str) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0) as client:
        yield client


def ask(**extra: Any) -> dict[str, Any]:
    return {"model": "folio", "messages": [{"role": "user", "content": QUESTION}], **extra}


# Chat completions


async def test_a_completion_applies_temperature_and_length(async_folio: openai.AsyncOpenAI, live: Live) -> None:
    live.fake.replies.append("Ninety days written notice [1].")
    completion = await async_folio.chat.completions.create(
        **ask(temperature=0.7, max_tokens=10_000, top_p=0.9, seed=7, stop=["\n\n"], user="u-1", metadata={"a": "b"})
    )

    assert completion.choices[0].message.content == "Ninety days written notice [1]."
    assert completion.model == "fake-chat"
    assert (completion.model_extra or {})["citations"][0]["quote"]
    upstream = live.fake.chat_requests()[-1]["body"]
    assert (upstream["temperature"], upstream["max_tokens"]) == (0.7, 512)


def test_a_completion_streams_with_usage(folio: openai.OpenAI, live: Live) -> None:
    live.fake.replies.append("Ninety days [1].")
    stream = folio.chat.completions.create(
        **ask(max_completion_tokens=20), stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    assert "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices) == "Ninety days [1]."
    assert chunks[-1].usage is not None
    assert live.fake.chat_requests()[-1]["body"]["max_tokens"] == 20


def test_a_failure_midway_reaches_the_client_as_an_api_error(folio: openai.OpenAI, live: Live) -> None:
    live.fake.replies.append("Ninety days written notice is required [1].")
    live.fake.fail_stream_after = 2
    with pytest.raises(openai.APIError) as raised:
        list(folio.chat.completions.create(**ask(), stream=True))

    assert raised.value.type == "server_error"
    assert raised.value.code == "LLM_UNAVAILABLE"


# Embeddings


def test_one_text_is_embedded_as_folio_embeds_it(folio: openai.OpenAI, live: Live) -> None:
    text = "Either party may terminate with ninety days notice."
    response = folio.embeddings.create(model=EMBEDDING_MODEL, input=text, encoding_format="float")

    assert response.model == EMBEDDING_MODEL
    assert [item.index for item in response.data] == [0]
    vector = np.asarray(response.data[0].embedding, dtype=np.float32)
    assert np.array_equal(vector, live.embed([text])[0])
    assert response.usage.prompt_tokens == response.usage.total_tokens > 2


async def test_a_batch_is_embedded_in_base64_by_default(async_folio: openai.AsyncOpenAI, live: Live) -> None:
    texts = ["invoices are payable within thirty days", "bees dance", "a third, longer text about contracts"]
    response = await async_folio.embeddings.create(model="all-MiniLM-L6-v2", input=texts)

    assert len(live.fake.requests) == 0  # the local model, not the chat model's endpoint
    assert np.array_equal(np.asarray([item.embedding for item in response.data], dtype=np.float32), live.embed(texts))


async def test_base64_on_the_wire_is_little_endian_float32(live: Live, key: str) -> None:
    async with httpx.AsyncClient(base_url=live.url) as http:
        body = {"model": EMBEDDING_MODEL, "input": ["one", "two"], "encoding_format": "base64"}
        response = await http.post("/v1/embeddings", json=body, headers={"Authorization": f"Bearer {key}"})

    assert response.status_code == 200, response.text
    rows = [np.frombuffer(base64.b64decode(item["embedding"]), dtype="<f4") for item in response.json()["data"]]
    assert np.array_equal(np.stack(rows), live.embed(["one", "two"]))


def test_embedding_tokens_are_recorded_as_usage(folio: openai.OpenAI, live: Live) -> None:
    response = folio.embeddings.create(model=EMBEDDING_MODEL, input=["count these tokens", "and these"])
    usage = httpx.get(
        f"{live.url}/api/v1/usage", params={"group_by": "kind"}, headers={"Authorization": f"Bearer {folio.api_key}"}
    )

    assert usage.status_code == 200, usage.text
    rows = {row["kind"]: row for row in usage.json()["items"]}
    assert rows["embedding"]["prompt_tokens"] == response.usage.prompt_tokens
    assert rows["embedding"]["calls"] == 1


# Models


async def test_models_list_the_answering_and_the_embedding_model(async_folio: openai.AsyncOpenAI) -> None:
    models = await async_folio.models.list()

    assert [model.id for model in models.data] == ["fake-chat", EMBEDDING_MODEL]


@pytest.mark.parametrize(
    ("asked", "found"),
    [
        ("fake-chat", "fake-chat"),
        (EMBEDDING_MODEL, EMBEDDING_MODEL),
        ("sentence-transformers/all-MiniLM-L6-v2", EMBEDDING_MODEL),
    ],
)
def test_a_model_is_retrieved_by_its_id_or_alias(folio: openai.OpenAI, asked: str, found: str) -> None:
    model = folio.models.retrieve(asked)

    assert (model.id, model.object, model.owned_by) == (found, "model", "folio")


def test_an_unknown_model_is_not_found(folio: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as retrieved:
        folio.models.retrieve("gpt-5")
    with pytest.raises(openai.NotFoundError) as embedded:
        folio.embeddings.create(model="text-embedding-3-small", input="hello")

    for raised in (retrieved.value, embedded.value):
        assert (raised.type, raised.param, raised.code) == ("not_found_error", "model", "MODEL_NOT_FOUND")
    assert "all-MiniLM-L6-v2-int8" in embedded.value.message


def test_an_unknown_url_is_not_found_in_openais_shape(folio: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as raised:
        folio.responses.create(model="folio", input="hello")

    assert raised.value.type == "not_found_error"
    assert "POST /v1/responses" in raised.value.message


# Refusals


@pytest.mark.parametrize(
    ("extra", "param", "code"),
    [
        ({"n": 2}, "n", "unsupported_value"),
        ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools", "unsupported_parameter"),
        ({"tool_choice": "auto"}, "tool_choice", "unsupported_value"),
        ({"functions": [{"name": "f"}]}, "functions", "unsupported_parameter"),
        ({"response_format": {"type": "json_object"}}, "response_format", "unsupported_value"),
        ({"logprobs": True}, "logprobs", "unsupported_value"),
        ({"top_logprobs": 2}, "top_logprobs", "unsupported_parameter"),
        ({"logit_bias": {"50256": -100}}, "logit_bias", "unsupported_parameter"),
        ({"modalities": ["text", "audio"]}, "modalities", "unsupported_value"),
        ({"store": True}, "store", "unsupported_value"),
        ({"stream_options": {"include_usage": True}}, "stream_options", "unsupported_value"),
        ({"temperature": 2.5}, "temperature", "VALIDATION_ERROR"),
        ({"top_p": 1.5}, "top_p", "VALIDATION_ERROR"),
        ({"max_tokens": 0}, "max_tokens", "VALIDATION_ERROR"),
        ({"presence_penalty": -2.5}, "presence_penalty", "VALIDATION_ERROR"),
        ({"frequency_penalty": 3}, "frequency_penalty", "VALIDATION_ERROR"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "VALIDATION_ERROR"),
        ({"extra_body": {"foo": 1}}, "foo", "unknown_parameter"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages[0].content[0].type",
            "unsupported_value",
        ),
        ({"messages": [{"role": "assistant", "content": "hi"}]}, "messages", "VALIDATION_ERROR"),
    ],
)
def test_a_refused_chat_parameter_is_a_bad_request(
    folio: openai.OpenAI, extra: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        folio.chat.completions.create(**ask(**extra))

    assert (raised.value.status_code, raised.value.type) == (400, "invalid_request_error")
    assert (raised.value.param, raised.value.code) == (param, code)
    assert param.split("[")[0] in raised.value.message


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"input": [[1, 2, 3]]}, "input", "unsupported_value"),
        ({"input": [1, 2, 3]}, "input", "unsupported_value"),
        ({"input": "hello", "dimensions": 128}, "dimensions", "unsupported_value"),
        ({"input": ["fine", ""]}, "input", "unsupported_value"),
        ({"input": []}, "input", "unsupported_value"),
        ({"input": ["word " * 300]}, "input[0]", "context_length_exceeded"),
        ({"input": "x" * 40_000}, "input", "input_too_long"),
        ({"input": ["ten words of text to fill up the request budget"] * 700}, "input", "request_too_large"),
        ({"input": "hello", "encoding_format": "int8"}, "encoding_format", "VALIDATION_ERROR"),
        ({"input": "hello", "extra_body": {"truncate": True}}, "truncate", "unknown_parameter"),
    ],
)
def test_a_refused_embedding_request_is_a_bad_request(
    folio: openai.OpenAI, fields: dict[str, Any], param: str, code: str
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        folio.embeddings.create(model=EMBEDDING_MODEL, **fields)

    assert (raised.value.type, raised.value.param, raised.value.code) == ("invalid_request_error", param, code)


def test_a_wrong_key_is_an_authentication_error(live: Live) -> None:
    with openai.OpenAI(base_url=f"{live.url}/v1", api_key="fk_wrong", max_retries=0) as stranger:
        with pytest.raises(openai.AuthenticationError) as raised:
            stranger.embeddings.create(model=EMBEDDING_MODEL, input="hello")

    assert (raised.value.type, raised.value.code) == ("authentication_error", "AUTH_INVALID")


async def test_a_key_without_the_answers_scope_is_denied(live: Live) -> None:
    created = await create_api_key(live.client, live.account, scopes=["search"])
    async with openai.AsyncOpenAI(base_url=f"{live.url}/v1", api_key=created["secret"], max_retries=0) as narrow:
        with pytest.raises(openai.PermissionDeniedError) as raised:
            await narrow.embeddings.create(model=EMBEDDING_MODEL, input="hello")

    assert (raised.value.type, raised.value.code) == ("permission_error", "FORBIDDEN")


def test_past_the_keys_rate_limit_is_a_rate_limit_error(folio: openai.OpenAI) -> None:
    for _ in range(KEY_LIMIT):
        folio.models.list()
    with pytest.raises(openai.RateLimitError) as raised:
        folio.models.list()

    assert (raised.value.type, raised.value.code) == ("rate_limit_error", "RATE_LIMIT_EXCEEDED")
    assert int(raised.value.response.headers["retry-after"]) >= 1
