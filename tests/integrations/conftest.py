"""An app whose integrations reach the fake sources on this machine (the self-hosted deployment's outbound
setting), on a database of the module's own, and the fake Notion it syncs from."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from tests.apps import serve
from tests.factories import Account, register, wait_until_finished
from tests.integrations.fakes.confluence import CLIENT_ID as ATLASSIAN_CLIENT
from tests.integrations.fakes.confluence import CLIENT_SECRET as ATLASSIAN_SECRET
from tests.integrations.fakes.confluence import FakeConfluence
from tests.integrations.fakes.notion import CLIENT_ID as NOTION_CLIENT
from tests.integrations.fakes.notion import CLIENT_SECRET as NOTION_SECRET
from tests.integrations.fakes.notion import TOKEN, FakeNotion
from tests.live_server import serve_in_thread

INTEGRATIONS = "/api/v1/integrations"
LOCAL_OUTBOUND = {"allow_private": True, "allow_hosts": ["127.0.0.1"]}
RETURN_URL = "https://app.example.com/integrations"


@pytest.fixture(scope="module")
def notion_server() -> Iterator[FakeNotion]:
    fake = FakeNotion()
    with serve_in_thread(fake.app()) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def notion(notion_server: FakeNotion) -> FakeNotion:
    notion_server.reset()
    return notion_server


@pytest.fixture(scope="module")
def confluence_server() -> Iterator[FakeConfluence]:
    fake = FakeConfluence()
    with serve_in_thread(fake.app()) as url:
        fake.base_url = url
        yield fake


@pytest.fixture
def confluence_fake(confluence_server: FakeConfluence) -> FakeConfluence:
    confluence_server.reset()
    return confluence_server


@pytest.fixture(scope="module")
async def synced_app(
    separate_database_url: str, notion_server: FakeNotion, confluence_server: FakeConfluence
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """Integrations reach the fakes: Notion's API and authorization server, and Atlassian's gateway and
    authorization server (one fake answers both)."""
    async with serve(
        separate_database_url,
        outbound=LOCAL_OUTBOUND,
        integrations={
            "notion_api_url": notion_server.base_url,
            "atlassian_api_url": confluence_server.base_url,
            "atlassian_auth_url": confluence_server.base_url,
            "notion_oauth": {"client_id": NOTION_CLIENT, "client_secret": NOTION_SECRET},
            "confluence_oauth": {"client_id": ATLASSIAN_CLIENT, "client_secret": ATLASSIAN_SECRET},
            "max_retry_after_seconds": 5,
        },
        sso={"return_urls": [RETURN_URL]},
    ) as served:
        yield served


@pytest.fixture
def api(synced_app: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return synced_app[1]


async def connect_notion(
    api: httpx.AsyncClient, owner: Account, *, config: dict[str, Any] | None = None, token: str = TOKEN
) -> dict[str, Any]:
    """A Notion integration whose first sync has finished; its body with `sync_job` (the job's final state)."""
    response = await api.post(
        INTEGRATIONS,
        json={"kind": "notion", "name": "Notion", "config": config or {}, "credentials": {"token": token}},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    body["sync_job"] = await wait_until_finished(api, owner, UUID(body["sync_job_id"]), seconds=60)
    return body


async def sync(api: httpx.AsyncClient, owner: Account, integration_id: str) -> dict[str, Any]:
    """Sync now and wait; the sync's history entry."""
    started = await api.post(f"{INTEGRATIONS}/{integration_id}/sync", headers=owner.headers)
    assert started.status_code == 202, started.text
    await wait_until_finished(api, owner, UUID(started.json()["job_id"]), seconds=60)
    return await last_sync(api, owner, integration_id)


async def last_sync(api: httpx.AsyncClient, owner: Account, integration_id: str) -> dict[str, Any]:
    history = await api.get(f"{INTEGRATIONS}/{integration_id}/syncs", headers=owner.headers)
    assert history.status_code == 200, history.text
    newest: dict[str, Any] = history.json()["items"][0]
    return newest


async def documents_when_ready(api: httpx.AsyncClient, owner: Account, count: int) -> list[dict[str, Any]]:
    """The organization's documents once there are `count` and none is waiting to be indexed."""
    async with asyncio.timeout(90):
        while True:
            listed = await api.get("/api/v1/documents", params={"limit": 100}, headers=owner.headers)
            items: list[dict[str, Any]] = listed.json()["items"]
            if len(items) == count and all(item["status"] in {"ready", "failed"} for item in items):
                return items
            await asyncio.sleep(0.1)


@pytest.fixture
async def owner(api: httpx.AsyncClient) -> Account:
    return await register(api)
