"""The fake Guru of `tests.integrations.fakes.guru`, served over real HTTP, and Guru connectors that reach it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import pytest

from folio.integrations.connector import Item
from folio.integrations.connectors.guru import GuruConfig, GuruConnector, GuruCredentials
from folio.integrations.http import Retrying, SourceHttp, StaticAuth
from folio.outbound import OutboundPolicy
from tests.integrations.fakes.guru import USER_EMAIL, USER_TOKEN, FakeGuru
from tests.live_server import serve_in_thread

Connect = Callable[..., AbstractAsyncContextManager[GuruConnector]]


@pytest.fixture(autouse=True, scope="module")
def _empty_tables() -> None:
    """These tests touch no database: this stands in for the suite's table cleanup so none is started."""


@pytest.fixture(scope="module")
def guru_server() -> Iterator[tuple[FakeGuru, str]]:
    fake = FakeGuru()
    fake.reset()
    with serve_in_thread(fake.app(), lifespan="off") as base_url:
        yield fake, base_url


@pytest.fixture
def fake(guru_server: tuple[FakeGuru, str]) -> FakeGuru:
    """Guru as each test starts: the General collection, no cards, the user token valid."""
    guru_server[0].reset()
    return guru_server[0]


@pytest.fixture
def base_url(guru_server: tuple[FakeGuru, str]) -> str:
    return guru_server[1]


@pytest.fixture
def connect(base_url: str) -> Connect:
    """A connector to the fake (or the server at `url`), through the guarded client a sync uses; `max_bytes` is
    the server's item cap."""

    @asynccontextmanager
    async def opened(
        config: GuruConfig | None = None,
        *,
        url: str = base_url,
        username: str = USER_EMAIL,
        token: str = USER_TOKEN,
        max_items: int = 20_000,
        max_bytes: int = 10 * 1024 * 1024,
        max_wait_seconds: float = 5.0,
    ) -> AsyncIterator[GuruConnector]:
        credentials = GuruCredentials(username=username, token=token)
        policy = OutboundPolicy(allow_private=True, max_response_bytes=max_bytes)
        retrying = Retrying(max_retries=3, max_wait_seconds=max_wait_seconds)
        async with SourceHttp("guru", policy, StaticAuth(credentials.headers()), retrying) as http:
            yield GuruConnector(config or GuruConfig(), http, url, max_items=max_items)

    return opened


async def listed(connector: GuruConnector, known: Mapping[str, str] | None = None) -> list[Item]:
    return [item async for item in connector.listing(known or {})]
