"""What every resource shares: running its flows on the client's driver, query strings, and pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from folio_client._core import Core, Flow
from folio_client._drivers import AsyncDriver, SyncDriver
from folio_client.pagination import AsyncPage, AsyncPager, PageData, SyncPage

T = TypeVar("T")
QueryValue = str | int | bool | UUID | datetime | list[str] | None


class SyncResource:
    def __init__(self, driver: SyncDriver) -> None:
        self._driver = driver
        self._core: Core = driver.core

    def _run(self, flow: Flow[T]) -> T:
        return self._driver.run(flow)

    def _pages(self, flow_for: Callable[[str | None], Flow[PageData[T]]], cursor: str | None) -> SyncPage[T]:
        """The page at `cursor` (a page's `next_cursor`, kept to go on later), the first for None."""

        def fetch(at: str | None) -> SyncPage[T]:
            data = self._run(flow_for(at))
            return SyncPage(data.items, data.next_cursor, fetch)

        return fetch(cursor)


class AsyncResource:
    def __init__(self, driver: AsyncDriver) -> None:
        self._driver = driver
        self._core: Core = driver.core

    async def _run(self, flow: Flow[T]) -> T:
        return await self._driver.run(flow)

    def _pages(self, flow_for: Callable[[str | None], Flow[PageData[T]]], cursor: str | None) -> AsyncPager[T]:
        """The pages from `cursor` (a page's `next_cursor`, kept to go on later), from the first for None."""

        async def fetch(at: str | None) -> AsyncPage[T]:
            data = await self._run(flow_for(at))
            return AsyncPage(data.items, data.next_cursor, fetch)

        return AsyncPager(lambda: fetch(cursor))


def query(**values: QueryValue) -> dict[str, str | list[str]]:
    """Query parameters, leaving out those not given."""
    params: dict[str, str | list[str]] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif isinstance(value, datetime):
            params[name] = value.isoformat()
        elif isinstance(value, list):
            params[name] = value
        else:
            params[name] = str(value)
    return params
