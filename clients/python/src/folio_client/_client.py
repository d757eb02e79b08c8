"""`Folio` and `AsyncFolio`: the same resources over the same flows, one blocking and one for asyncio."""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from types import TracebackType

import httpx

from folio_client._core import Core, Credentials
from folio_client._drivers import AsyncDriver, SyncDriver
from folio_client.models import SearchMode, Tokens
from folio_client.resources.answers import Answers, AsyncAnswers
from folio_client.resources.auth import ApiKeys, AsyncApiKeys, AsyncAuth, Auth
from folio_client.resources.documents import AsyncDocuments, Documents
from folio_client.resources.jobs import AsyncJobs, Jobs
from folio_client.resources.search import (
    AsyncSearchResults,
    HybridTuning,
    SearchFilters,
    SearchResults,
    search_flow,
)
from folio_client.resources.summaries import AsyncSummaries, Summaries

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_RETRY_WAIT = 60.0

try:
    _VERSION = version("folio-client")
except PackageNotFoundError:  # run from a source tree that was never installed
    _VERSION = "0"


def _core(
    base_url: str | None,
    *,
    api_key: str | None,
    access_token: str | None,
    refresh_token: str | None,
    org_id: str | None,
    timeout: float | httpx.Timeout,
    max_retries: int,
    max_retry_wait: float,
    on_tokens: Callable[[Tokens], None] | None,
) -> Core:
    if api_key is None and access_token is None:
        api_key = os.environ.get("FOLIO_API_KEY") or None
    return Core(
        base_url=(base_url or os.environ.get("FOLIO_SERVER") or DEFAULT_BASE_URL).rstrip("/"),
        credentials=Credentials(
            api_key=api_key, access_token=access_token, refresh_token=refresh_token, on_tokens=on_tokens
        ),
        org_id=None if org_id is None else str(org_id),
        timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout, connect=5.0),
        max_retries=max_retries,
        max_retry_wait=max_retry_wait,
        user_agent=f"folio-client/{_VERSION} (python; httpx {httpx.__version__})",
    )


class Folio:
    """A client of a Folio server.

    `base_url` defaults to `$FOLIO_SERVER`, then http://127.0.0.1:8000. Authenticate with an `api_key` (default
    `$FOLIO_API_KEY`), with an `access_token` and its `refresh_token`, or by calling `auth.login` /
    `auth.register`; `on_tokens` hears every new pair of tokens. `org_id` chooses the organization of a user who
    belongs to several. Requests the server turns away for now (429, 503) and failed connections are retried up to
    `max_retries` times, waiting as `Retry-After` says when it is at most `max_retry_wait` seconds.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        org_id: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        on_tokens: Callable[[Tokens], None] | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._core = _core(
            base_url,
            api_key=api_key,
            access_token=access_token,
            refresh_token=refresh_token,
            org_id=org_id,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            on_tokens=on_tokens,
        )
        self._http = http_client or httpx.Client()
        self._owns_http = http_client is None
        driver = SyncDriver(self._core, self._http)
        self._driver = driver
        self.auth = Auth(driver)
        self.api_keys = ApiKeys(driver)
        self.documents = Documents(driver)
        self.jobs = Jobs(driver)
        self.answers = Answers(driver)
        self.summaries = Summaries(driver)

    @property
    def base_url(self) -> str:
        return self._core.base_url

    def search(
        self,
        query: str,
        *,
        mode: SearchMode | None = None,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        hybrid: HybridTuning | None = None,
    ) -> SearchResults:
        """Hybrid (keyword and vector) search over the organization's documents: the first page of hits
        (`top_k` of them), best first; iterating it goes on through the next pages."""

        def fetch(cursor: str | None) -> SearchResults:
            flow = search_flow(self._core, query, cursor, mode=mode, top_k=top_k, filters=filters, hybrid=hybrid)
            return SearchResults(self._driver.run(flow), fetch)

        return fetch(None)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Folio:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class AsyncFolio:
    """`Folio` for asyncio: the same arguments and resources, with coroutines, async pages and async streams."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        org_id: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        on_tokens: Callable[[Tokens], None] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._core = _core(
            base_url,
            api_key=api_key,
            access_token=access_token,
            refresh_token=refresh_token,
            org_id=org_id,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
            on_tokens=on_tokens,
        )
        self._http = http_client or httpx.AsyncClient()
        self._owns_http = http_client is None
        driver = AsyncDriver(self._core, self._http)
        self._driver = driver
        self.auth = AsyncAuth(driver)
        self.api_keys = AsyncApiKeys(driver)
        self.documents = AsyncDocuments(driver)
        self.jobs = AsyncJobs(driver)
        self.answers = AsyncAnswers(driver)
        self.summaries = AsyncSummaries(driver)

    @property
    def base_url(self) -> str:
        return self._core.base_url

    async def search(
        self,
        query: str,
        *,
        mode: SearchMode | None = None,
        top_k: int | None = None,
        filters: SearchFilters | None = None,
        hybrid: HybridTuning | None = None,
    ) -> AsyncSearchResults:
        async def fetch(cursor: str | None) -> AsyncSearchResults:
            flow = search_flow(self._core, query, cursor, mode=mode, top_k=top_k, filters=filters, hybrid=hybrid)
            return AsyncSearchResults(await self._driver.run(flow), fetch)

        return await fetch(None)

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncFolio:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()
