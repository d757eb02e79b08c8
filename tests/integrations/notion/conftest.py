"""The Notion connector against the fake Notion of `tests.integrations.fakes.notion`, served over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from folio.integrations.connectors.notion import NotionConfig, NotionConnector
from folio.integrations.http import Retrying, SourceHttp, StaticAuth
from folio.outbound import OutboundPolicy
from tests.integrations.fakes.notion import TOKEN, FakeNotion
from tests.live_server import serve_in_thread


@pytest.fixture(scope="module")
def notion_server() -> Iterator[FakeNotion]:
    fake = FakeNotion()
    with serve_in_thread(fake.app(), lifespan="off") as base_url:
        fake.base_url = base_url
        yield fake


@pytest.fixture
def fake(notion_server: FakeNotion) -> FakeNotion:
    """An empty workspace, as each test starts."""
    notion_server.reset()
    return notion_server


@pytest.fixture(autouse=True)
def _empty_tables() -> None:
    """These tests keep nothing in the database, so they need no app to empty it."""


@asynccontextmanager
async def connected(
    fake: FakeNotion,
    config: NotionConfig | None = None,
    *,
    token: str = TOKEN,
    max_items: int = 20_000,
    max_response_bytes: int = 10 * 1024 * 1024,
) -> AsyncIterator[NotionConnector]:
    """A connector to the fake, with its own client (`connector.http`, whose `requests` counts the calls)."""
    policy = OutboundPolicy(allow_private=True, max_response_bytes=max_response_bytes)
    auth = StaticAuth({"Authorization": f"Bearer {token}"})
    async with SourceHttp("notion", policy, auth, Retrying(max_retries=2, max_wait_seconds=5)) as http:
        yield NotionConnector(config or NotionConfig(), http, fake.base_url, max_items=max_items)
