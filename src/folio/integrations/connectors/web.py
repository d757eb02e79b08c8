"""The web as a source: the pages of one site, found by a crawl from a start URL or listed by the site's sitemap.

A site has no listing API to page through: the listing *is* the crawl, breadth-first from the start URL through
`<a href>` and `<link rel=canonical>` to `max_depth` links, at most `max_pages` requests, each page's body handed to
the sync in its item so it is not read twice. With `sitemap_url` the sitemap's URLs (a sitemap index's sitemaps
followed, `MAX_SITEMAPS` files at most) are the pages and no links are followed.

The site is the scheme, host and port the start URL lands on: the start URL's own redirects may move it
(`http://example.com` to `https://www.example.com/`, each hop through the outbound guard); any other page must be on
it and under `path_prefix`, and a page redirecting off it is skipped unrequested. robots.txt is read once per
listing (again if the start URL moves the site) for the agent `FolioBot`: 4xx allows everything (RFC 9309), a 5xx
or no answer fails the listing, which is how "disallow all" reads here (a failed listing deletes nothing, where an
empty one would delete every page), and `Crawl-delay` is kept between requests up to `MAX_CRAWL_DELAY_SECONDS`.

Versions and conditional requests. A page's version is its kind and a validator: `html etag:"x"`, `pdf lm:<date>`,
`txt sha256:<hex>` (the ETag, else Last-Modified, else the body's hash). When `known` holds a page's version, its
validator goes in If-None-Match or If-Modified-Since and a 304 lists the page unchanged, with no body. A 304 has no
links, and the sync keeps nothing but versions, so an HTML page whose links the crawl still follows (above
`max_depth`) is always read whole, its version deciding whether the sync stores it again; pages at `max_depth`,
documents (the kind in the version tells, before asking, that a known page is not HTML) and every page of a sitemap
are asked conditionally. A 304's item is titled by its URL: only a changed page's title is news.

Skipped alone: a page of a type Folio does not read, one answering 4xx, one past the size cap. A 5xx that outlasts
the retries fails the listing instead, for the reason robots.txt's does.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import anyio
import httpx2
from anyio import to_thread
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from selectolax.lexbor import LexborHTMLParser

from folio.documents.web import ACCEPT, MAX_REDIRECTS, USER_AGENT, file_name, last_modified, url_extension
from folio.integrations.connector import Content, Item
from folio.integrations.connectors._web_pages import (
    MAX_TITLE,
    NOT_DOCUMENTS,
    conditional_headers,
    is_under,
    kind_of,
    normalised,
    origin_of,
    page_links,
    page_metadata,
    page_title,
    page_version,
    parse_sitemap,
    redirect_target,
)
from folio.integrations.errors import InvalidIntegrationConfig, ItemGone, ItemTooLarge, SourceRefused, SourceUnavailable
from folio.integrations.http import SourceHttp

ROBOT_NAME = "FolioBot"
MAX_CRAWL_DELAY_SECONDS = 5.0
MAX_SITEMAPS = 50
MAX_ID_LENGTH = 500
# RFC 9309 asks crawlers to read at least 500 KiB of a robots.txt.
_ROBOTS_BYTES = 512 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Answers the crawl reads itself rather than as SourceHttp's errors: redirects, 304, a page's 4xx (skipped, not a
# failure of the sync; a 401 is a protected page, not refused credentials). 429 and 5xx are retried.
_ANSWERED = frozenset(range(300, 500)) - {429}


class WebConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_url: str = Field(
        max_length=2000,
        description="Where the crawl starts (http or https). Its site (scheme, host and port, after the start URL's "
        "own redirects) is the scope.",
    )
    sitemap_url: str | None = Field(
        None,
        max_length=2000,
        description="A sitemap or sitemap index listing the pages to read instead of crawling; its pages outside the "
        "start URL's site are skipped.",
    )
    max_pages: int = Field(100, ge=1, le=100_000, description="Pages requested per sync at most (the server may cap).")
    max_depth: int = Field(
        3, ge=0, le=20, description="Links followed from the start URL at most (0: the start page alone)."
    )
    path_prefix: str | None = Field(
        None,
        max_length=500,
        pattern=r"^/",
        description="Only pages whose path is this or under it ('/docs' holds '/docs/a', not '/docs-old').",
    )

    @field_validator("start_url", "sitemap_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = normalised(value)
        if url is None:
            raise ValueError("must be an http or https URL with a host and no credentials")
        return url

    @model_validator(mode="after")
    def _start_in_scope(self) -> WebConfig:
        if self.path_prefix is not None and not is_under(urlsplit(self.start_url).path, self.path_prefix):
            raise ValueError("start_url must be under path_prefix")
        return self


class WebCredentials(BaseModel):
    """A public site needs none."""

    model_config = ConfigDict(extra="forbid")

    def headers(self) -> dict[str, str]:
        return {}


class _Skipped(Exception):
    """The page is not read (robots.txt, a redirect off the site or to a page already read, too many redirects)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class _Site:
    origin: str
    prefix: str | None
    robots: RobotFileParser
    delay: float

    def holds(self, url: str) -> bool:
        return origin_of(url) == self.origin and (self.prefix is None or is_under(urlsplit(url).path, self.prefix))

    def allows(self, url: str) -> bool:
        return self.robots.can_fetch(ROBOT_NAME, url)


@dataclass(frozen=True, slots=True)
class _Page:
    item: Item | None
    links: list[str]


class WebConnector:
    """One site through `http`; `base_url` is not used (the site is the configuration's start URL)."""

    def __init__(self, config: WebConfig, http: SourceHttp, base_url: str, *, max_items: int) -> None:
        self.config = config
        self.http = http
        self.max_items = max_items
        self._site: _Site | None = None
        self._last_request: float | None = None

    async def check(self) -> str:
        self._site = await self._open(self.config.start_url)
        try:
            url, response = await self._follow(self.config.start_url, {}, follow=True, seen=None, may_move=True)
        except _Skipped as exc:
            raise InvalidIntegrationConfig(
                f"The start URL cannot be read: {exc.reason}.", details={"field": "config.start_url"}
            ) from exc
        if response.status_code != 200:
            raise SourceRefused(response.status_code, "the start URL")
        return f"site {urlsplit(url).hostname}"

    async def listing(self, known: Mapping[str, str]) -> AsyncIterator[Item]:
        self._site = await self._open(self.config.start_url)
        if self.config.sitemap_url is None:
            pages = self._crawl(known)
        else:
            pages = self._listed(known, self.config.sitemap_url)
        listed = 0
        async with aclosing(pages):
            async for item in pages:
                yield item
                listed += 1
                if listed >= self.max_items:
                    return

    async def fetch(self, item: Item) -> Content:
        if self._site is None:
            self._site = await self._open(self.config.start_url)
        page = await self._page(item.external_id, {}, follow=False, seen=None)
        if page is None or page.item is None or page.item.content is None:
            raise ItemGone()
        return page.item.content

    async def _crawl(self, known: Mapping[str, str]) -> AsyncGenerator[Item]:
        start = self.config.start_url
        queue, seen, requested = deque([(start, 0)]), {start}, 0
        while queue and requested < self.config.max_pages:
            url, depth = queue.popleft()
            requested += 1
            follow = depth < self.config.max_depth
            try:
                page = await self._page(url, known, follow=follow, seen=seen, may_move=depth == 0)
            except ItemTooLarge:
                continue
            if page is None:
                continue
            if page.item is not None:
                yield page.item
            for link in page.links:
                # Every queued page is requested, so queueing past max_pages would only hold memory.
                if link not in seen and requested + len(queue) < self.config.max_pages and self._wanted(link):
                    seen.add(link)
                    queue.append((link, depth + 1))

    async def _listed(self, known: Mapping[str, str], sitemap_url: str) -> AsyncGenerator[Item]:
        seen: set[str] = set()
        locations = self._sitemap_urls(sitemap_url)
        async with aclosing(locations):
            async for url in locations:
                if len(seen) >= self.config.max_pages:
                    return
                if url in seen or not self._wanted(url):
                    continue
                seen.add(url)
                try:
                    page = await self._page(url, known, follow=False, seen=seen)
                except ItemTooLarge:
                    continue
                if page is not None and page.item is not None:
                    yield page.item

    @property
    def _here(self) -> _Site:
        if self._site is None:
            raise RuntimeError("The site is opened by a check or a listing first.")
        return self._site

    def _wanted(self, url: str) -> bool:
        return (
            len(url) <= MAX_ID_LENGTH
            and url_extension(url) not in NOT_DOCUMENTS
            and self._here.holds(url)
            and self._here.allows(url)
        )

    async def _page(
        self, url: str, known: Mapping[str, str], *, follow: bool, seen: set[str] | None, may_move: bool = False
    ) -> _Page | None:
        """The page at `url` as an item (with its body unless its version is the known one) and its links when
        `follow`; None when it is skipped or is not a document Folio reads."""
        try:
            url, response = await self._follow(url, known, follow=follow, seen=seen, may_move=may_move)
        except _Skipped:
            return None
        held = known.get(url)
        if response.status_code == 304:
            return None if held is None else _Page(Item(url, url[:MAX_TITLE], held, url=url), [])
        if response.status_code != 200:
            return None
        body = response.content
        extension = kind_of(url, response.headers.get("content-type", ""), body)
        if not body or extension is None:
            return None
        parser = LexborHTMLParser(response.text) if extension == "html" else None
        version = page_version(extension, response.headers, body)
        content = None if version == held else Content(body, file_name(url, extension), page_metadata(response.headers))
        updated = last_modified(response.headers.get("last-modified"))
        item = Item(url, page_title(parser, url), version, url=url, updated_at=updated, content=content)
        return _Page(item, page_links(parser, url) if parser is not None and follow else [])

    async def _follow(
        self, url: str, known: Mapping[str, str], *, follow: bool, seen: set[str] | None, may_move: bool
    ) -> tuple[str, httpx2.Response]:
        """The answer at `url` and where it came from, after redirects on the site (or anywhere, moving the site,
        when `may_move`); a target in `seen` is not read again."""
        for _ in range(MAX_REDIRECTS + 1):
            if not self._here.allows(url):
                raise _Skipped("robots.txt disallows it")
            response = await self._get(url, f"the page {url[:200]}", conditional_headers(known.get(url), follow=follow))
            if response.status_code not in _REDIRECTS:
                return url, response
            target = redirect_target(url, response)
            if target is None or len(target) > MAX_ID_LENGTH:
                raise _Skipped("it redirects to no web page")
            if may_move and origin_of(target) != self._here.origin:
                self._site = await self._open(target)
            if not self._here.holds(target):
                raise _Skipped("it redirects off the site")
            if seen is not None:
                if target in seen:
                    raise _Skipped("it redirects to a page already read")
                seen.add(target)
            url = target
        raise _Skipped(f"more than {MAX_REDIRECTS} redirects")

    async def _open(self, url: str) -> _Site:
        """The site `url` is on, with its robots.txt."""
        origin = origin_of(url)
        robots = RobotFileParser()
        response = await self._anywhere(f"{origin}/robots.txt", "robots.txt")
        if response is not None and response.status_code == 200:
            robots.parse(response.content[:_ROBOTS_BYTES].decode("utf-8", "replace").splitlines())
        else:
            robots.parse([])  # 4xx, or redirects past the limit: no rules, everything allowed
        delay = min(float(robots.crawl_delay(ROBOT_NAME) or 0), MAX_CRAWL_DELAY_SECONDS)
        return _Site(origin, self.config.path_prefix, robots, delay)

    async def _sitemap_urls(self, first: str) -> AsyncGenerator[str]:
        pending, read = deque([first]), set[str]()
        while pending and len(read) < MAX_SITEMAPS:
            url = pending.popleft()
            if url in read:
                continue
            read.add(url)
            response = await self._anywhere(url, "the sitemap")
            if response is None:
                raise SourceUnavailable(f"The sitemap redirects more than {MAX_REDIRECTS} times.")
            if response.status_code != 200:
                raise SourceRefused(response.status_code, "the sitemap")
            is_index, locations = await to_thread.run_sync(parse_sitemap, response.content)
            if is_index:
                pending.extend(locations)
                continue
            for location in locations:
                yield location

    async def _anywhere(self, url: str, what: str) -> httpx2.Response | None:
        """The answer after redirects wherever they go (each hop guarded); None after too many."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._get(url, what)
            if response.status_code not in _REDIRECTS:
                return response
            target = redirect_target(url, response)
            if target is None:
                return None
            url = target
        return None

    async def _get(self, url: str, what: str, conditions: Mapping[str, str] | None = None) -> httpx2.Response:
        if self._site is not None and self._site.delay and self._last_request is not None:
            await anyio.sleep(max(0.0, self._last_request + self._site.delay - time.monotonic()))
        headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT, **(conditions or {})}
        try:
            return await self.http.request("GET", url, what=what, headers=headers, accept=_ANSWERED)
        finally:
            self._last_request = time.monotonic()
