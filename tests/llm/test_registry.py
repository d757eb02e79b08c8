"""LLMRegistry.for_org: the organization's settings over the server's, one cached client per endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from folio.llm.errors import LLMCredentialsUnreadable
from folio.llm.guarded import GuardedLLM
from folio.llm.provider import LLMProvider, Message
from folio.llm.registry import LLMRegistry
from folio.settings import Settings
from tests.conftest import make_settings
from tests.factories import Account, register
from tests.fake_openai import FakeOpenAI, serve_fake_openai

URL = "/api/v1/llm/settings"
QUESTION: list[Message] = [{"role": "user", "content": "Which model are you?"}]


@pytest.fixture
def server_fake() -> Iterator[FakeOpenAI]:
    with serve_fake_openai(FakeOpenAI(default_reply="server model")) as fake:
        yield fake


@pytest.fixture
def org_fake() -> Iterator[FakeOpenAI]:
    with serve_fake_openai(FakeOpenAI(default_reply="organization model")) as fake:
        yield fake


def server_settings(database_url: str, fake: FakeOpenAI, **llm: Any) -> Settings:
    values = {"provider": "openai", "base_url": fake.base_url, "model": "server-model", "api_key": "sk-server", **llm}
    return make_settings(database_url, llm=values)


@pytest.fixture
async def registry(database_url: str, server_fake: FakeOpenAI) -> AsyncIterator[LLMRegistry]:
    registry = LLMRegistry(server_settings(database_url, server_fake))
    yield registry
    await registry.close()


async def for_org(app: FastAPI, registry: LLMRegistry, account: Account) -> LLMProvider | None:
    async with app.state.sessionmaker() as session:
        return await registry.for_org(session, account.org_id)


async def use_org_model(client: httpx.AsyncClient, account: Account, fake: FakeOpenAI, **body: Any) -> None:
    settings = {"provider": "openai", "base_url": fake.base_url, "model": "org-model", "api_key": "sk-org", **body}
    response = await client.put(URL, json=settings, headers=account.headers)
    assert response.status_code == 200, response.text


async def test_an_organization_without_settings_uses_the_servers_model(
    app: FastAPI, client: httpx.AsyncClient, registry: LLMRegistry, server_fake: FakeOpenAI
) -> None:
    account = await register(client)
    provider = await for_org(app, registry, account)
    assert provider is not None
    assert provider.model == "server-model"
    assert (await provider.complete(QUESTION)).text == "server model"
    assert server_fake.requests[-1]["authorization"] == "Bearer sk-server"


async def test_the_organizations_own_settings_win_and_its_key_is_used(
    app: FastAPI,
    client: httpx.AsyncClient,
    registry: LLMRegistry,
    server_fake: FakeOpenAI,
    org_fake: FakeOpenAI,
) -> None:
    custom, plain = await register(client), await register(client)
    await use_org_model(client, custom, org_fake)

    provider = await for_org(app, registry, custom)

    assert provider is not None
    assert provider.model == "org-model"
    assert (await provider.complete(QUESTION)).text == "organization model"
    assert org_fake.requests[-1]["authorization"] == "Bearer sk-org"
    assert org_fake.requests[-1]["body"]["model"] == "org-model"
    other = await for_org(app, registry, plain)
    assert other is not None
    assert other.model == "server-model"
    assert server_fake.chat_requests() == []


async def test_clients_and_breakers_are_cached_per_endpoint(
    app: FastAPI, client: httpx.AsyncClient, registry: LLMRegistry, org_fake: FakeOpenAI
) -> None:
    first, second, third = await register(client), await register(client), await register(client)
    await use_org_model(client, first, org_fake)
    await use_org_model(client, second, org_fake)

    one = await for_org(app, registry, first)
    assert await for_org(app, registry, first) is one
    # The same endpoint and key: one connection pool, one breaker.
    assert await for_org(app, registry, second) is one
    assert await for_org(app, registry, third) is await for_org(app, registry, third)
    assert await for_org(app, registry, third) is not one
    assert isinstance(one, GuardedLLM)


async def test_a_change_applies_to_the_next_call(
    app: FastAPI, client: httpx.AsyncClient, registry: LLMRegistry, org_fake: FakeOpenAI
) -> None:
    account = await register(client)
    await use_org_model(client, account, org_fake)
    before = await for_org(app, registry, account)

    await use_org_model(client, account, org_fake, model="org-model-2", api_key="sk-rotated")
    after = await for_org(app, registry, account)

    assert after is not before
    assert after is not None
    assert after.model == "org-model-2"
    await after.complete(QUESTION)
    assert org_fake.requests[-1]["authorization"] == "Bearer sk-rotated"

    await client.put(URL, json={"provider": "extractive"}, headers=account.headers)
    assert await for_org(app, registry, account) is None

    await client.delete(URL, headers=account.headers)
    back = await for_org(app, registry, account)
    assert back is not None
    assert back.model == "server-model"


async def test_the_extractive_server_default_means_no_model(
    app: FastAPI, client: httpx.AsyncClient, database_url: str
) -> None:
    account = await register(client)
    registry = LLMRegistry(make_settings(database_url))
    assert await for_org(app, registry, account) is None
    await registry.close()


async def test_the_app_holds_a_registry(app: FastAPI) -> None:
    assert isinstance(app.state.llm, LLMRegistry)


async def test_a_key_no_configured_key_can_decrypt_is_reported(
    app: FastAPI, client: httpx.AsyncClient, registry: LLMRegistry, org_fake: FakeOpenAI
) -> None:
    account = await register(client)
    await use_org_model(client, account, org_fake)
    async with app.state.engine.begin() as connection:
        await connection.execute(
            text("UPDATE org_llm_settings SET api_key_encrypted = 'gAAAAAtampered' WHERE org_id = :org_id"),
            {"org_id": account.org_id},
        )
    with pytest.raises(LLMCredentialsUnreadable) as raised:
        await for_org(app, registry, account)
    assert raised.value.status_code == 503
