"""The small site of `tests.integrations.web.site`, served over real HTTP, and web connectors that crawl it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from folio.integrations.connector import Item
from folio.integrations.connectors.web import WebConfig, WebConnector, WebCredentials
from folio.integrations.http import Retrying, SourceHttp, StaticAuth
from folio.outbound import OutboundPolicy
from tests.integrations.web.site import BODY_CAP, FakeSite
from tests.live_server import serve_in_thread

Connect = Callable[..., AbstractAsyncContextManager[WebConnector]]
# Retries without waiting long: the site's 429s ask for no wait.
RETRYING = Retrying(max_retries=2, max_wait_seconds=5.0)


@pytest.fixture(autouse=True, scope="module")
def _empty_tables() -> None:
    """These tests touch no database: this stands in for the suite's table cleanup so none is started."""


@pytest.fixture(scope="module")
def site_server() -> Iterator[FakeSite]:
    site = FakeSite()
    with serve_in_thread(site.app(), lifespan="off") as base_url:
        site.base_url = base_url
        yield site


@pytest.fixture
def site(site_server: FakeSite) -> FakeSite:
    """The site as each test starts: every page in place, robots.txt keeping FolioBot out of /private/."""
    site_server.reset()
    return site_server


@pytest.fixture
def connect(site_server: FakeSite) -> Connect:
    """A connector to the site through the guarded client a sync uses, crawling to depth 2 from its home page
    unless told otherwise (`config` fields as keywords); bodies are capped at `BODY_CAP`."""

    @asynccontextmanager
    async def opened(
        *,
        policy: OutboundPolicy | None = None,
        max_items: int = 20_000,
        retrying: Retrying = RETRYING,
        **config: Any,
    ) -> AsyncIterator[WebConnector]:
        settings = WebConfig.model_validate({"start_url": f"{site_server.base_url}/", "max_depth": 2, **config})
        policy = policy or OutboundPolicy(allow_private=True, max_response_bytes=BODY_CAP)
        async with SourceHttp("web", policy, StaticAuth(WebCredentials().headers()), retrying) as http:
            yield WebConnector(settings, http, settings.start_url, max_items=max_items)

    return opened


async def listed(connector: WebConnector, known: Mapping[str, str] | None = None) -> dict[str, Item]:
    """The listing's items by path (with the query), each listed once."""
    items: dict[str, Item] = {}
    async for item in connector.listing(known or {}):
        path = "/" + item.external_id.split("/", 3)[3]
        assert path not in items, f"{path} listed twice"
        items[path] = item
    return items


def versions(items: Mapping[str, Item]) -> dict[str, str]:
    """What a sync holds after storing `items`: external id to version."""
    return {item.external_id: item.version for item in items.values()}
