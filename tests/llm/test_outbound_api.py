"""An organization's model endpoint through the real app: internal URLs refused when they are set (422) and when a
name that looked public turns out internal at call time (502), no remote body ever shown to the tenant, and a
self-hosted deployment (FOLIO_OUTBOUND__ALLOW_PRIVATE) reaching the fake model on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.answers.test_offline import sse_events
from tests.apps import serve
from tests.conftest import new_database
from tests.corpus import Doc, ingest
from tests.factories import Account, error_of, register
from tests.fake_openai import SELF_HOSTED_OUTBOUND, FakeOpenAI, serve_fake_openai

SETTINGS = "/api/v1/llm/settings"
ANSWERS = "/api/v1/answers"
QUESTION = "How much notice is needed to terminate the agreement?"
CORPUS = {
    "contract": Doc(
        "contract.txt",
        "Master services agreement.\n\nEither party may terminate this agreement with ninety days written notice.",
        ["legal"],
    )
}
# No SDK retries: a failure answers at once.
LLM = {"max_retries": 0, "timeout_seconds": 5}
SECRET = "hunter2-internal-secret"
BAD_BASE_URLS = [
    "http://127.0.0.1:11434/v1",
    "http://localhost:8000/v1",
    "http://LOCALHOST./v1",
    "http://[::1]/v1",
    "http://2130706433/v1",
    "http://127.1/v1",
    "http://0x7f.1/v1",
    "http://0177.0.0.1/v1",
    "http://0.0.0.0:8000/v1",
    "http://[::ffff:127.0.0.1]/v1",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.google.internal/computeMetadata/v1",
    "http://[fd00:ec2::254]/latest",
    "http://10.0.0.7/v1",
    "http://192.168.1.10:11434/v1",
    "http://[fe80::1%25eth0]/v1",
    "http://ollama.internal:11434/v1",
    "http://redis:6379/any/path?x=",
]


@dataclass
class Deployment:
    client: httpx.AsyncClient
    account: Account
    fake: FakeOpenAI

    async def use(self, base_url: str) -> httpx.Response:
        body = {"provider": "openai", "base_url": base_url, "model": "fake-chat", "api_key": "sk-attacker"}
        return await self.client.put(SETTINGS, json=body, headers=self.account.headers)

    async def ask(self, **body: Any) -> httpx.Response:
        return await self.client.post(ANSWERS, json={"question": QUESTION, **body}, headers=self.account.headers)


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """Each deployment is the module's own, with its own database and corpus."""


@pytest.fixture(autouse=True)
def _fresh_fake(fake_model: FakeOpenAI) -> None:
    fake_model.requests.clear()
    fake_model.fail_next.clear()
    fake_model.raw_next.clear()
    fake_model.failure_message = None


@pytest.fixture(scope="module")
def fake_model() -> Iterator[FakeOpenAI]:
    with serve_fake_openai() as fake:
        yield fake


async def deployment(database_url: str, fake: FakeOpenAI, **overrides: Any) -> AsyncIterator[Deployment]:
    async with new_database(database_url) as url, serve(url, llm=LLM, **overrides) as (_, client):
        account = await register(client)
        await ingest(client, account, CORPUS)
        yield Deployment(client, account, fake)


@pytest.fixture(scope="module")
async def strict(database_url: str, fake_model: FakeOpenAI) -> AsyncIterator[Deployment]:
    """The defaults: tenants' URLs must be public."""
    async for each in deployment(database_url, fake_model):
        yield each


@pytest.fixture(scope="module")
async def self_hosted(database_url: str, fake_model: FakeOpenAI) -> AsyncIterator[Deployment]:
    async for each in deployment(database_url, fake_model, outbound=SELF_HOSTED_OUTBOUND):
        yield each


async def test_internal_base_urls_are_refused_when_set(strict: Deployment) -> None:
    for base_url in BAD_BASE_URLS:
        error = error_of(await strict.use(base_url), 422, "OUTBOUND_URL_FORBIDDEN")
        assert error["details"]["errors"][0]["loc"] == ["body", "base_url"], base_url
    settings = await strict.client.get(SETTINGS, headers=strict.account.headers)
    assert settings.json()["source"] == "server"


async def test_a_name_that_resolves_to_an_internal_address_is_refused_when_called(
    strict: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = strict.fake.base_url.rsplit(":", 1)[1].split("/")[0]
    # A public-looking name passes when it is set; at call time it resolves to the fake on loopback.
    assert (await strict.use(f"http://models.example.com:{port}/v1")).status_code == 200

    async def rebound(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr("folio.outbound.policy.resolve_host", rebound)

    error = error_of(await strict.ask(), 502, "LLM_ENDPOINT_FORBIDDEN")
    assert "127.0.0.1" not in error["message"]
    streamed = await strict.ask(stream=True)
    assert ("error", {"code": "LLM_ENDPOINT_FORBIDDEN", "message": error["message"]}) in sse_events(streamed.text)
    completions = await strict.client.post(
        "/v1/chat/completions",
        json={"model": "fake-chat", "messages": [{"role": "user", "content": QUESTION}]},
        headers=strict.account.headers,
    )
    # The OpenAI-compatible route answers in OpenAI's error shape, with Folio's code.
    assert completions.status_code == 502, completions.text
    assert completions.json()["error"] | {"message": None} == {
        "message": None,
        "type": "server_error",
        "param": None,
        "code": "LLM_ENDPOINT_FORBIDDEN",
    }
    assert completions.json()["error"]["message"] == error["message"]
    assert strict.fake.requests == []


async def test_a_self_hosted_deployment_calls_its_own_model(self_hosted: Deployment) -> None:
    assert (await self_hosted.use(self_hosted.fake.base_url)).status_code == 200
    response = await self_hosted.ask()
    assert response.status_code == 200, response.text
    assert response.json()["answer"] == "The fake model answers."
    assert self_hosted.fake.chat_requests()[-1]["authorization"] == "Bearer sk-attacker"


async def test_an_error_body_of_the_endpoint_never_reaches_the_tenant(self_hosted: Deployment) -> None:
    assert (await self_hosted.use(self_hosted.fake.base_url)).status_code == 200
    self_hosted.fake.failure_message = SECRET
    self_hosted.fake.fail_next = [500]
    response = await self_hosted.ask()
    error = error_of(response, 502, "LLM_UNAVAILABLE")
    assert "500" in error["message"]
    assert SECRET not in response.text


@pytest.mark.parametrize(
    ("content", "media_type"),
    [
        (f"<html><body>Router admin, password {SECRET}</body></html>", "text/html"),
        (f'{{"k": "{SECRET}"}}', "text/json"),
    ],
)
async def test_a_200_that_is_no_completion_is_not_returned_as_the_answer(
    self_hosted: Deployment, content: str, media_type: str
) -> None:
    assert (await self_hosted.use(self_hosted.fake.base_url)).status_code == 200
    self_hosted.fake.raw_next = [(content, media_type)]
    response = await self_hosted.ask()
    error_of(response, 502, "LLM_INVALID_RESPONSE")
    assert SECRET not in response.text

    self_hosted.fake.raw_next = [(content, media_type)]
    streamed = await self_hosted.ask(stream=True)
    assert SECRET not in streamed.text
    assert sse_events(streamed.text)[-1][1]["code"] == "LLM_INVALID_RESPONSE"


async def test_the_metadata_service_stays_out_of_reach_of_a_self_hosted_deployment(self_hosted: Deployment) -> None:
    error_of(await self_hosted.use("http://169.254.169.254/latest/meta-data/"), 422, "OUTBOUND_URL_FORBIDDEN")
    error_of(await self_hosted.use("http://metadata.google.internal/"), 422, "OUTBOUND_URL_FORBIDDEN")
