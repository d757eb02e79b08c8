"""The fake Confluence site served over real HTTP, and connectors pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from folio.integrations.connectors.confluence import ConfluenceConfig, ConfluenceConnector, ConfluenceCredentials
from folio.integrations.http import Authorizer, Retrying, SourceHttp, StaticAuth
from folio.outbound import OutboundPolicy
from tests.integrations.fakes.confluence import API_TOKEN, EMAIL, FakeConfluence
from tests.live_server import serve_in_thread

SITE_URL = "https://folio-test.atlassian.net"
Connect = Callable[..., AbstractAsyncContextManager[ConfluenceConnector]]


@pytest.fixture(autouse=True, scope="module")
def _empty_tables() -> None:
    """The connector touches no database: this stands in for the suite's table cleanup so none is started."""


@pytest.fixture(scope="module")
def confluence_server() -> Iterator[FakeConfluence]:
    fake = FakeConfluence()
    with serve_in_thread(fake.app(), lifespan="off") as base_url:
        fake.base_url = base_url
        yield fake


@pytest.fixture(autouse=True)
def fake(confluence_server: FakeConfluence) -> FakeConfluence:
    confluence_server.reset()
    return confluence_server


def token_headers(api_token: str = API_TOKEN) -> dict[str, str]:
    return ConfluenceCredentials(email=EMAIL, api_token=api_token).headers()


@pytest.fixture
def connect(fake: FakeConfluence) -> Connect:
    """`async with connect(space_keys=[...]) as connector`: a connector on the fake site with a fresh client."""

    @asynccontextmanager
    async def connected(
        *,
        headers: dict[str, str] | None = None,
        auth: Authorizer | None = None,
        base_url: str | None = None,
        max_items: int = 10_000,
        max_response_bytes: int = 10 * 1024 * 1024,
        **config: Any,
    ) -> AsyncIterator[ConfluenceConnector]:
        policy = OutboundPolicy(allow_private=True, max_response_bytes=max_response_bytes)
        auth = auth or StaticAuth(headers if headers is not None else token_headers())
        async with SourceHttp("confluence", policy, auth, Retrying(max_retries=3, max_wait_seconds=5)) as http:
            settings = ConfluenceConfig(site_url=SITE_URL, **config)
            yield ConfluenceConnector(settings, http, base_url or fake.base_url, max_items=max_items)

    return connected
