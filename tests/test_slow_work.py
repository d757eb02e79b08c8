"""No database connection is held across slow work: when a request calls the model or embeds a question, it holds
none; a hanging model does not starve other organizations; an empty pool answers 503."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from starlette.requests import Request

from folio.main import create_app
from tests.apps import QUIET
from tests.conftest import empty_tables, make_settings
from tests.connections import Lent, lent_to_requests
from tests.corpus import Doc, ingest
from tests.factories import Account, error_of, register
from tests.fake_openai import FakeOpenAI, llm_settings, serve_fake_openai

CORPUS = {
    "contract": Doc(
        "contract.txt",
        "Master services agreement.\n\nEither party may terminate this agreement with ninety days written notice. "
        "Invoices are payable within thirty days of receipt.",
    )
}
QUESTION = "How much notice is needed to terminate the agreement?"


@dataclass
class ProbedModel(FakeOpenAI):
    """The fake model, noting how many connections the request of `request_id` holds whenever it is called (that
    request's, not the pool's: the app's own loops share the pool and read at any moment)."""

    connections: Lent | None = None
    request_id: str = ""
    lent: list[int] = field(default_factory=list)

    async def _record(self, request: Request) -> dict[str, Any]:
        if self.connections is not None:
            self.lent.append(self.connections.to_request(self.request_id))
        return await super()._record(request)


@dataclass
class Setup:
    app: FastAPI
    client: httpx.AsyncClient
    account: Account
    model: ProbedModel
    embedded: list[int]

    def probed(self) -> dict[str, str]:
        """The account's headers with a new request id, whose connections the model counts when it is called."""
        self.model.request_id = uuid4().hex
        return {**self.account.headers, "X-Request-ID": self.model.request_id}


@pytest.fixture(autouse=True)
async def _empty_tables() -> None:
    """The module's corpus lives until the module ends (see `setup`)."""


@pytest.fixture(scope="module")
def model() -> Iterator[ProbedModel]:
    with serve_fake_openai(ProbedModel()) as fake:
        assert isinstance(fake, ProbedModel)
        yield fake


@pytest.fixture(scope="module")
async def module_setup(separate_database_url: str, model: ProbedModel) -> AsyncIterator[Setup]:
    settings = make_settings(
        separate_database_url,
        llm=llm_settings(model, timeout_seconds=30),
        db={"pool_size": 2, "max_overflow": 0, "pool_timeout_seconds": 1},
        **QUIET,
    )
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        account = await register(client)
        await ingest(client, account, CORPUS)
        with lent_to_requests(application) as connections:
            model.connections = connections
            embedded: list[int] = []
            provider = application.state.embedder.get()
            embed = provider.embed

            async def probed_embed(texts: list[str]) -> np.ndarray:
                embedded.append(connections.to_this_request())
                vectors: np.ndarray = await embed(texts)
                return vectors

            provider.embed = probed_embed
            yield Setup(application, client, account, model, embedded)
            provider.embed = embed
            model.connections = None
        await empty_tables(application)


@pytest.fixture
def setup(module_setup: Setup) -> Setup:
    module_setup.model.lent.clear()
    module_setup.model.replies.clear()
    module_setup.model.delay = 0
    module_setup.embedded.clear()
    return module_setup


async def test_search_embeds_the_question_with_no_connection_held(setup: Setup) -> None:
    response = await setup.client.post(
        "/api/v1/search", json={"query": "terminate with notice"}, headers=setup.account.headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["items"]
    assert setup.embedded == [0]


@pytest.mark.parametrize("stream", [False, True])
async def test_answers_call_the_model_with_no_connection_held(setup: Setup, stream: bool) -> None:
    response = await setup.client.post(
        "/api/v1/answers", json={"question": QUESTION, "stream": stream}, headers=setup.probed()
    )
    assert response.status_code == 200, response.text
    assert setup.embedded == [0]
    assert setup.model.lent == [0]


async def test_a_chat_follow_up_is_rewritten_and_answered_with_no_connection_held(setup: Setup) -> None:
    chat = await setup.client.post("/api/v1/chats", json={}, headers=setup.account.headers)
    assert chat.status_code == 201, chat.text
    messages = f"/api/v1/chats/{chat.json()['id']}/messages"
    setup.model.replies = ["Ninety days [1].", "How soon are invoices payable?", "Within thirty days [1]."]
    for question in (QUESTION, "And how soon are invoices payable?"):
        response = await setup.client.post(messages, json={"content": question}, headers=setup.probed())
        assert response.status_code == 200, response.text
    # First turn: the answer. Second: the rewrite of the follow-up, then the answer.
    assert setup.model.lent == [0, 0, 0]
    assert setup.embedded == [0, 0]


async def test_openai_compatible_completions_call_the_model_with_no_connection_held(setup: Setup) -> None:
    body = {
        "model": "folio",
        "messages": [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "Ninety days."},
            {"role": "user", "content": "And the invoices?"},
        ],
    }
    setup.model.replies = ["How soon are invoices payable?", "Within thirty days [1]."]
    response = await setup.client.post("/v1/chat/completions", json=body, headers=setup.probed())
    assert response.status_code == 200, response.text
    assert setup.model.lent == [0, 0]


async def test_a_hanging_model_does_not_starve_another_organization(setup: Setup) -> None:
    """More answers wait on the model than the pool has connections, and another org is still served."""
    setup.model.delay = 3
    other = await register(setup.client)
    waiting = [
        asyncio.create_task(
            setup.client.post("/api/v1/answers", json={"question": QUESTION}, headers=setup.account.headers)
        )
        for _ in range(4)
    ]
    async with asyncio.timeout(30):
        while len(setup.model.lent) < len(waiting):  # noqa: ASYNC110 — the model serves from another thread
            await asyncio.sleep(0.05)
    listed = await setup.client.get("/api/v1/documents", headers=other.headers)
    assert listed.status_code == 200, listed.text
    assert [response.status_code for response in await asyncio.gather(*waiting)] == [200] * len(waiting)


async def test_an_exhausted_pool_answers_503_with_retry_after(setup: Setup) -> None:
    engine = setup.app.state.engine
    async with engine.connect() as first, engine.connect() as second:
        await first.exec_driver_sql("SELECT 1")
        await second.exec_driver_sql("SELECT 1")
        response = await setup.client.get("/api/v1/documents", headers=setup.account.headers)
        ready = await setup.client.get("/health/ready")
    error = error_of(response, 503, "SERVER_BUSY")
    assert error["details"] == {"reason": "database"}
    assert int(response.headers["Retry-After"]) > 0
    assert ready.status_code == 503
    assert ready.json()["checks"]["capacity"]["status"] == "failing"
