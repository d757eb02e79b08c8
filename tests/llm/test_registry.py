"""LLMRegistry.for_org: the organization's settings over the server's, one cached client per endpoint.

The organizations' endpoints are the fake on 127.0.0.1, so the app that stores their settings and the registry
under test run as a self-hosted deployment does (FOLIO_OUTBOUND__ALLOW_PRIVATE).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from folio.llm.cache import CachedLLM
from folio.llm.errors import LLMBusy, LLMCredentialsUnreadable
from folio.llm.guarded import GuardedLLM
from folio.llm.limiter import OrgLimitedLLM
from folio.llm.openai_compatible import OpenAICompatibleLLM
from folio.llm.provider import LLMProvider, Message
from folio.llm.registry import LLMRegistry
from folio.settings import Settings
from tests.apps import serve
from tests.conftest import make_settings
from tests.factories import Account, register
from tests.fake_openai import SELF_HOSTED_OUTBOUND, FakeOpenAI, serve_fake_openai

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
    return make_settings(database_url, llm=values, outbound=SELF_HOSTED_OUTBOUND)


@pytest.fixture
async def self_hosted(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with serve(database_url, outbound=SELF_HOSTED_OUTBOUND) as (app, client):
        yield app, client


@pytest.fixture
async def registry(database_url: str, server_fake: FakeOpenAI) -> AsyncIterator[LLMRegistry]:
    registry = LLMRegistry(server_settings(database_url, server_fake))
    yield registry
    await registry.close()


async def for_org(app: FastAPI, registry: LLMRegistry, account: Account) -> LLMProvider | None:
    async with app.state.sessionmaker() as session:
        return await registry.for_org(session, account.org_id)


async def client_of(app: FastAPI, registry: LLMRegistry, account: Account) -> CachedLLM:
    """The cached client behind the organization's provider (which is a fresh per-call wrapper)."""
    provider = await for_org(app, registry, account)
    assert isinstance(provider, OrgLimitedLLM)
    assert isinstance(provider.provider, CachedLLM)
    return provider.provider


async def use_org_model(client: httpx.AsyncClient, account: Account, fake: FakeOpenAI, **body: Any) -> None:
    settings = {"provider": "openai", "base_url": fake.base_url, "model": "org-model", "api_key": "sk-org", **body}
    response = await client.put(URL, json=settings, headers=account.headers)
    assert response.status_code == 200, response.text


async def test_an_organization_without_settings_uses_the_servers_model(
    self_hosted: tuple[FastAPI, httpx.AsyncClient], registry: LLMRegistry, server_fake: FakeOpenAI
) -> None:
    app, client = self_hosted
    account = await register(client)
    provider = await for_org(app, registry, account)
    assert provider is not None
    assert provider.model == "server-model"
    assert (await provider.complete(QUESTION)).text == "server model"
    assert server_fake.requests[-1]["authorization"] == "Bearer sk-server"


async def test_the_organizations_own_settings_win_and_its_key_is_used(
    self_hosted: tuple[FastAPI, httpx.AsyncClient],
    registry: LLMRegistry,
    server_fake: FakeOpenAI,
    org_fake: FakeOpenAI,
) -> None:
    app, client = self_hosted
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
    self_hosted: tuple[FastAPI, httpx.AsyncClient], registry: LLMRegistry, org_fake: FakeOpenAI
) -> None:
    app, client = self_hosted
    first, second, third = await register(client), await register(client), await register(client)
    await use_org_model(client, first, org_fake)
    await use_org_model(client, second, org_fake)

    one = await client_of(app, registry, first)
    assert await client_of(app, registry, first) is one
    # The same endpoint and key: one connection pool, one breaker.
    assert await client_of(app, registry, second) is one
    assert await client_of(app, registry, third) is await client_of(app, registry, third)
    assert await client_of(app, registry, third) is not one
    assert isinstance(one.provider, GuardedLLM)


async def test_a_change_applies_to_the_next_call(
    self_hosted: tuple[FastAPI, httpx.AsyncClient], registry: LLMRegistry, org_fake: FakeOpenAI
) -> None:
    app, client = self_hosted
    account = await register(client)
    await use_org_model(client, account, org_fake)
    before = await client_of(app, registry, account)

    await use_org_model(client, account, org_fake, model="org-model-2", api_key="sk-rotated")
    after = await for_org(app, registry, account)

    assert isinstance(after, OrgLimitedLLM)
    assert after.provider is not before
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
    self_hosted: tuple[FastAPI, httpx.AsyncClient], registry: LLMRegistry, org_fake: FakeOpenAI
) -> None:
    app, client = self_hosted
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


async def test_settings_changes_with_new_keys_keep_the_cache_bounded_and_close_dropped_clients(
    self_hosted: tuple[FastAPI, httpx.AsyncClient], database_url: str, org_fake: FakeOpenAI
) -> None:
    app, client = self_hosted
    registry = LLMRegistry(server_settings(database_url, org_fake, client_cache_size=3))
    account = await register(client)
    used: list[CachedLLM] = []
    try:
        for n in range(12):
            await use_org_model(client, account, org_fake, api_key=f"sk-rotated-{n}")
            provider = await for_org(app, registry, account)
            assert provider is not None
            assert (await provider.complete(QUESTION)).text == "organization model"
            assert isinstance(provider, OrgLimitedLLM)
            assert isinstance(provider.provider, CachedLLM)
            used.append(provider.provider)
            assert len(registry.clients) <= 3
        assert org_fake.requests[-1]["authorization"] == "Bearer sk-rotated-11"
        open_clients = [cached for cached in used if open_client(cached)]
        assert open_clients == used[-3:]
        assert all(cached.retired for cached in used[:-3])
    finally:
        await registry.close()
    assert not any(open_client(cached) for cached in used)


def open_client(cached: CachedLLM) -> bool:
    guarded = cached.provider
    assert isinstance(guarded, GuardedLLM)
    model = guarded.provider
    assert isinstance(model, OpenAICompatibleLLM)
    return model.is_open


async def test_every_call_of_an_organization_counts_against_its_concurrency(
    self_hosted: tuple[FastAPI, httpx.AsyncClient], database_url: str, org_fake: FakeOpenAI, server_fake: FakeOpenAI
) -> None:
    app, client = self_hosted
    registry = LLMRegistry(server_settings(database_url, server_fake, org_concurrency=1, org_busy_wait_seconds=0))
    custom, plain = await register(client), await register(client)
    await use_org_model(client, custom, org_fake)
    try:
        streaming = await for_org(app, registry, custom)
        assert streaming is not None
        deltas = streaming.stream(QUESTION)
        assert (await anext(deltas)).text

        # While the stream runs, the organization's one slot is taken, whichever provider asks.
        again = await for_org(app, registry, custom)
        assert again is not None
        with pytest.raises(LLMBusy):
            await again.complete(QUESTION)
        # Another organization (here on the server's model) is not held up.
        other = await for_org(app, registry, plain)
        assert other is not None
        assert (await other.complete(QUESTION)).text == "server model"

        assert "".join([delta.text async for delta in deltas])
        assert (await again.complete(QUESTION)).text == "organization model"
    finally:
        await registry.close()
