"""The OpenAI-compatible chat client against a fake server speaking the real protocol over HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, MutableMapping
from typing import Any

import openai
import pytest
import structlog
from structlog.testing import capture_logs

from folio.llm import openai_compatible
from folio.llm.errors import (
    DEFAULT_RETRY_AFTER_SECONDS,
    LLMEndpointForbidden,
    LLMInvalidResponse,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
)
from folio.llm.openai_compatible import Endpoint, OpenAICompatibleLLM
from folio.llm.provider import Delta, LLMProvider, Message, Usage
from folio.llm.tokens import approximate_prompt_tokens, approximate_tokens
from folio.outbound import OutboundPolicy
from folio.settings import LLMSettings
from tests.fake_openai import FakeOpenAI, serve_fake_openai

SELF_HOSTED = OutboundPolicy(allow_private=True)

QUESTION: list[Message] = [
    {"role": "system", "content": "Answer from the sources."},
    {"role": "user", "content": "What colour is the sky?"},
]
SCHEMA: dict[str, Any] = {
    "title": "Verdict",
    "type": "object",
    "properties": {"sentiment": {"type": "string"}},
    "required": ["sentiment"],
}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as server:
        yield server


MakeLLM = Callable[..., OpenAICompatibleLLM]


@pytest.fixture
async def make_llm(fake: FakeOpenAI) -> AsyncIterator[MakeLLM]:
    """Clients of the fake with the given settings (no retries unless asked), closed after the test."""
    made: list[OpenAICompatibleLLM] = []

    def make(*, api_key: str = "sk-test-key-123456", **settings: Any) -> OpenAICompatibleLLM:
        values: dict[str, Any] = {"provider": "openai", "max_retries": 0, "timeout_seconds": 10, **settings}
        # An organization's endpoint (guarded) on a deployment that lets them be on its own network.
        endpoint = Endpoint("fake-chat", fake.base_url, api_key)
        made.append(OpenAICompatibleLLM(endpoint, LLMSettings.model_validate(values), SELF_HOSTED))
        return made[-1]

    yield make
    for provider in made:
        await provider.close()


@pytest.fixture
def llm(make_llm: MakeLLM) -> OpenAICompatibleLLM:
    return make_llm()


async def collect(provider: LLMProvider, messages: list[Message] = QUESTION, **options: Any) -> list[Delta]:
    return [delta async for delta in provider.stream(messages, **options)]


def test_it_is_an_llm_provider(llm: OpenAICompatibleLLM) -> None:
    provider: LLMProvider = llm
    assert provider.model == "fake-chat"


async def test_complete_sends_the_messages_and_returns_text_and_usage(
    fake: FakeOpenAI, llm: OpenAICompatibleLLM
) -> None:
    fake.replies = ["The sky is blue."]

    completion = await llm.complete(QUESTION, max_tokens=50, temperature=0.1)

    assert completion.text == "The sky is blue."
    assert completion.model == "fake-chat"
    assert completion.finish_reason == "stop"
    assert completion.usage == Usage(prompt_tokens=9, completion_tokens=4)
    (request,) = fake.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["authorization"] == "Bearer sk-test-key-123456"
    assert request["body"]["messages"] == QUESTION
    assert request["body"]["model"] == "fake-chat"
    assert request["body"]["max_tokens"] == 50
    assert request["body"]["temperature"] == 0.1
    assert "stream" not in request["body"]
    assert "response_format" not in request["body"]


async def test_options_left_unset_are_not_sent(fake: FakeOpenAI, llm: OpenAICompatibleLLM) -> None:
    await llm.complete(QUESTION)
    assert {"max_tokens", "temperature", "response_format"}.isdisjoint(fake.requests[0]["body"])


async def test_a_reply_made_from_the_request(fake: FakeOpenAI, llm: OpenAICompatibleLLM) -> None:
    fake.replies = [lambda body: f"You asked: {body['messages'][-1]['content']}"]
    assert (await llm.complete(QUESTION)).text == "You asked: What colour is the sky?"


async def test_a_cut_answer_reports_length(fake: FakeOpenAI, llm: OpenAICompatibleLLM) -> None:
    fake.replies = ["one two three four five"]
    completion = await llm.complete(QUESTION, max_tokens=2)
    assert completion.text == "one two "
    assert completion.finish_reason == "length"


async def test_json_schema_asks_for_structured_output(fake: FakeOpenAI, llm: OpenAICompatibleLLM) -> None:
    fake.replies = ['{"sentiment": "positive"}']

    completion = await llm.complete(QUESTION, json_schema=SCHEMA)

    assert json.loads(completion.text) == {"sentiment": "positive"}
    assert fake.requests[0]["body"]["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "Verdict", "schema": SCHEMA},
    }


async def test_a_server_refusing_json_schema_gets_json_mode_with_the_schema_in_the_prompt(
    fake: FakeOpenAI, llm: OpenAICompatibleLLM
) -> None:
    fake.refuse_json_schema = True
    fake.default_reply = '{"sentiment": "negative"}'

    first = await llm.complete(QUESTION, json_schema=SCHEMA)
    second = await llm.complete(QUESTION, json_schema=SCHEMA)

    assert json.loads(first.text) == json.loads(second.text) == {"sentiment": "negative"}
    formats = [request["body"]["response_format"]["type"] for request in fake.requests]
    # The refusal is remembered: the second call goes straight to JSON mode.
    assert formats == ["json_schema", "json_object", "json_object"]
    instruction = fake.requests[1]["body"]["messages"][-1]
    assert instruction["role"] == "system"
    assert json.dumps(SCHEMA) in instruction["content"]


async def test_stream_yields_text_in_order_then_one_delta_with_usage(
    fake: FakeOpenAI, llm: OpenAICompatibleLLM
) -> None:
    fake.replies = ["The sky is blue today."]

    deltas = await collect(llm)

    *pieces, last = deltas
    assert [delta.text for delta in pieces] == ["The ", "sky ", "is ", "blue ", "today."]
    assert all(delta.usage is None for delta in pieces)
    assert last.text == ""
    assert last.usage == Usage(prompt_tokens=9, completion_tokens=5)
    assert last.finish_reason == "stop"
    body = fake.requests[0]["body"]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_a_stream_without_usage_from_the_server_gets_an_estimate(
    fake: FakeOpenAI, llm: OpenAICompatibleLLM
) -> None:
    fake.send_usage = False
    fake.replies = ["An answer of a few words."]

    last = (await collect(llm))[-1]

    assert last.usage == Usage(approximate_prompt_tokens(QUESTION), approximate_tokens("An answer of a few words."))
    assert last.usage.completion_tokens > 0


async def test_a_completion_without_usage_gets_an_estimate(fake: FakeOpenAI, llm: OpenAICompatibleLLM) -> None:
    fake.send_usage = False
    fake.replies = ["Four words of answer."]
    completion = await llm.complete(QUESTION)
    assert completion.usage == Usage(approximate_prompt_tokens(QUESTION), approximate_tokens("Four words of answer."))


async def test_a_slow_server_times_out(fake: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake.delay = 1.0
    provider = make_llm(timeout_seconds=0.2)
    with pytest.raises(LLMTimeout) as raised:
        await provider.complete(QUESTION)
    assert raised.value.code == "LLM_TIMEOUT"
    assert raised.value.status_code == 504
    assert "fake-chat" in raised.value.detail_message


async def test_a_slow_stream_times_out(fake: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake.delay = 1.0
    provider = make_llm(timeout_seconds=0.2)
    with pytest.raises(LLMTimeout):
        await collect(provider)


async def test_a_server_error_is_retried_and_the_retry_succeeds(fake: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake.fail_next = [500]
    fake.replies = ["Recovered."]
    provider = make_llm(max_retries=2)

    completion = await provider.complete(QUESTION)

    assert completion.text == "Recovered."
    assert len(fake.chat_requests()) == 2


async def test_a_stream_that_fails_to_start_is_retried(fake: FakeOpenAI, make_llm: MakeLLM) -> None:
    fake.fail_next = [503]
    fake.replies = ["Streamed after all."]
    provider = make_llm(max_retries=1)
    deltas = await collect(provider)
    assert "".join(delta.text for delta in deltas) == "Streamed after all."
    assert len(fake.chat_requests()) == 2


async def test_rate_limits_exhausting_the_retries_carry_the_upstream_retry_after(
    fake: FakeOpenAI, make_llm: MakeLLM
) -> None:
    fake.fail_next = [429, 429]
    fake.retry_after = "2"
    provider = make_llm(max_retries=1)

    with pytest.raises(LLMRateLimited) as raised:
        await provider.complete(QUESTION)

    assert len(fake.chat_requests()) == 2
    error = raised.value
    assert (error.status_code, error.code) == (429, "LLM_RATE_LIMITED")
    assert error.headers["Retry-After"] == "2"
    assert error.details["retry_after_seconds"] == 2


async def test_a_rate_limit_without_retry_after_gets_the_default(fake: FakeOpenAI, llm: OpenAICompatibleLLM) -> None:
    fake.fail_next = [429]
    fake.retry_after = None
    with pytest.raises(LLMRateLimited) as raised:
        await llm.complete(QUESTION)
    assert raised.value.headers["Retry-After"] == str(DEFAULT_RETRY_AFTER_SECONDS)


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_after_the_retries_are_unavailable(
    fake: FakeOpenAI, status: int, make_llm: MakeLLM
) -> None:
    fake.fail_next = [status, status]
    provider = make_llm(max_retries=1)
    with pytest.raises(LLMUnavailable) as raised:
        await provider.complete(QUESTION)
    assert (raised.value.status_code, raised.value.code) == (502, "LLM_UNAVAILABLE")
    assert str(status) in raised.value.detail_message
    assert len(fake.chat_requests()) == 2


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MutableMapping[str, Any]]]:
    """What the model client logs. Its module logger may be bound already (loggers are cached on first use, and an
    earlier test may have used it): a fresh one is bound inside the capture."""
    with capture_logs() as captured:
        monkeypatch.setattr(openai_compatible, "log", structlog.get_logger(openai_compatible.__name__))
        yield captured


async def test_a_refusal_is_unavailable_with_its_status_and_the_upstream_message_only_logged(
    fake: FakeOpenAI, make_llm: MakeLLM, logs: list[MutableMapping[str, Any]]
) -> None:
    key = "sk-live-abcdef0123456789"
    fake.fail_next = [401]
    fake.failure_message = "internal page: db password is hunter2"
    provider = make_llm(api_key=key, max_retries=3)

    with pytest.raises(LLMUnavailable) as raised:
        await provider.complete(QUESTION)

    envelope = str(raised.value.envelope("request"))
    assert "401" in raised.value.detail_message
    assert raised.value.details == {"upstream_status": 401}
    assert "hunter2" not in envelope
    assert key not in envelope
    assert [entry["upstream"] for entry in logs if entry["event"] == "llm_upstream_error"] == [
        "internal page: db password is hunter2"
    ]
    # 4xx is not retried: the same request would be refused again.
    assert len(fake.chat_requests()) == 1


async def test_a_rate_limit_does_not_echo_the_upstream_message(fake: FakeOpenAI, llm: OpenAICompatibleLLM) -> None:
    fake.fail_next = [429]
    fake.failure_message = "quota of account 4711 exhausted"
    with pytest.raises(LLMRateLimited) as raised:
        await llm.complete(QUESTION)
    assert "4711" not in str(raised.value.envelope("request"))


async def test_an_upstream_message_quoting_the_key_is_masked_in_the_log(
    fake: FakeOpenAI, make_llm: MakeLLM, logs: list[MutableMapping[str, Any]]
) -> None:
    key = "sk-proj-quoted0123456789"
    fake.fail_next = [401]
    # As OpenAI does: the start and end of the key, the middle starred.
    fake.failure_message = f"Incorrect API key provided: {key[:10]}************{key[-4:]}. Check your dashboard."
    provider = make_llm(api_key=key)
    with pytest.raises(LLMUnavailable):
        await provider.complete(QUESTION)
    (logged,) = [entry["upstream"] for entry in logs if entry["event"] == "llm_upstream_error"]
    assert "Incorrect API key provided" in logged
    assert "Check your dashboard" in logged
    assert key[:10] not in logged
    assert key[-4:] not in logged


async def test_an_unreachable_server_is_unavailable() -> None:
    with serve_fake_openai() as fake:
        base_url = fake.base_url
    provider = OpenAICompatibleLLM(
        Endpoint("fake-chat", base_url, ""),
        LLMSettings.model_validate({"max_retries": 0, "timeout_seconds": 5}),
        SELF_HOSTED,
    )
    try:
        with pytest.raises(LLMUnavailable, match="could not be reached"):
            await provider.complete(QUESTION)
    finally:
        await provider.close()


@pytest.mark.parametrize("failure", ["disconnect", "error_event"])
async def test_a_stream_that_breaks_midway_is_unavailable_after_the_text_already_sent(
    fake: FakeOpenAI, llm: OpenAICompatibleLLM, failure: Any
) -> None:
    fake.replies = ["one two three four five"]
    fake.fail_stream_after = 2
    fake.stream_failure = failure
    received: list[str] = []

    async def consume() -> None:
        async for delta in llm.stream(QUESTION):
            received.append(delta.text)

    with pytest.raises(LLMUnavailable):
        await consume()

    assert received == ["one ", "two "]


async def test_the_fake_lists_its_models(fake: FakeOpenAI) -> None:
    async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-test") as client:
        models = [model.id async for model in await client.models.list()]
    assert models == ["fake-chat"]
    assert fake.requests[-1]["path"] == "/v1/models"


# What is not a model: its answers are errors, never the answer, and its body is never shown.

PAGE = "<html><body><h1>Router admin</h1><p>admin password: hunter2</p></body></html>"


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (PAGE, "text/html"),
        ('{"status": "ok", "secret": "hunter2"}', "application/json"),
        ('{"choices": "hunter2"}', "application/json"),
        ("hunter2", "text/plain"),
    ],
)
async def test_a_200_that_is_no_chat_completion_is_an_invalid_response(
    fake: FakeOpenAI, llm: OpenAICompatibleLLM, content: str, media_type: str
) -> None:
    fake.raw_next = [(content, media_type)]
    with pytest.raises(LLMInvalidResponse) as raised:
        await llm.complete(QUESTION)
    assert (raised.value.status_code, raised.value.code) == (502, "LLM_INVALID_RESPONSE")
    assert "hunter2" not in str(raised.value.envelope("request"))


@pytest.mark.parametrize(("content", "media_type"), [(PAGE, "text/html"), ('{"secret": "hunter2"}', "text/plain")])
async def test_a_stream_from_no_model_is_an_invalid_response(
    fake: FakeOpenAI, llm: OpenAICompatibleLLM, content: str, media_type: str
) -> None:
    fake.raw_next = [(content, media_type)]
    with pytest.raises(LLMInvalidResponse) as raised:
        await collect(llm)
    assert "hunter2" not in str(raised.value.envelope("request"))


async def test_a_stream_of_events_that_are_no_chunks_is_an_invalid_response(
    fake: FakeOpenAI, llm: OpenAICompatibleLLM
) -> None:
    fake.raw_next = [('data: {"secret": "hunter2"}\n\ndata: [DONE]\n\n', "text/event-stream")]
    with pytest.raises(LLMInvalidResponse):
        await collect(llm)


async def test_a_body_over_the_outbound_cap_is_an_invalid_response(fake: FakeOpenAI) -> None:
    fake.replies = ["word " * 400]
    provider = OpenAICompatibleLLM(
        Endpoint("fake-chat", fake.base_url, ""),
        LLMSettings.model_validate({"max_retries": 0, "timeout_seconds": 5}),
        OutboundPolicy(allow_private=True, max_response_bytes=1024),
    )
    try:
        with pytest.raises(LLMInvalidResponse):
            await provider.complete(QUESTION)
        with pytest.raises(LLMInvalidResponse):
            await collect(provider)
    finally:
        await provider.close()


async def test_an_organizations_endpoint_on_an_internal_address_is_not_called(fake: FakeOpenAI) -> None:
    provider = OpenAICompatibleLLM(Endpoint("fake-chat", fake.base_url, "sk-org"), LLMSettings())
    try:
        with pytest.raises(LLMEndpointForbidden) as raised:
            await provider.complete(QUESTION)
        with pytest.raises(LLMEndpointForbidden):
            await collect(provider)
    finally:
        await provider.close()
    assert (raised.value.status_code, raised.value.code) == (502, "LLM_ENDPOINT_FORBIDDEN")
    assert fake.requests == []


async def test_the_servers_own_endpoint_is_trusted(fake: FakeOpenAI) -> None:
    provider = OpenAICompatibleLLM(Endpoint("fake-chat", fake.base_url, "sk-server", trusted=True), LLMSettings())
    try:
        assert (await provider.complete(QUESTION)).text == "The fake model answers."
    finally:
        await provider.close()


async def test_a_closed_provider_opens_a_client_again_when_called(llm: OpenAICompatibleLLM) -> None:
    assert (await llm.complete(QUESTION)).text
    await llm.close()
    assert not llm.is_open
    assert (await llm.complete(QUESTION)).text
    assert llm.is_open
