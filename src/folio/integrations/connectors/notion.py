"""Notion: the pages an integration can see, as Markdown, and summaries written back to them.

Notion's documented REST API (version 2022-06-28) is called directly through `SourceHttp`, not through the
`notion-client` package: that package builds its own httpx client, which would go around the outbound guard (SSRF),
the retries that honour Retry-After, the one OAuth refresh and the request metrics. The connector adds the
`Notion-Version` header to every call, so the credentials (an internal integration's secret, or an OAuth token)
carry only the Authorization header.

The listing reads page objects, never a page's blocks, 100 a request:
- no scope: `POST /v1/search` for pages: every page shared with the integration;
- `database_ids`: `POST /v1/databases/{id}/query` for each;
- `page_ids`: the same search, keeping the pages whose chain of parents reaches one of them. Notion shares a page with
  everything under it, so the search mostly sees the shared trees, and its cost does not grow with their depth;
  walking each page's blocks for its `child_page` blocks would cost a request per page at every sync, with nothing
  changed. A page inside a block (a column, a toggle) names the block as its parent, which is looked up
  (`GET /v1/blocks/{id}`) once per listing. Pages of a database inside a scoped page are not in scope: name the
  database in `database_ids`.
Both sort by last_edited_time ascending: a page edited while the listing pages through moves behind the cursor, where
it is still met, rather than ahead of it, where it would be missed and its document deleted. (Notion indexes pages
for its search a little after they change: a new page may wait for the next sync.)

The version is `last_edited_time`, which Notion rounds to the minute: an edit made in the same minute as the last one
a sync saw is only picked up with the next edit after that minute.

A page's body is its blocks read recursively, at most `MAX_BLOCKS` blocks, `MAX_DEPTH` levels and `MAX_SOURCE_BYTES`
of answers; past that the Markdown keeps what was read and the metadata says `notion_truncated` (one answer larger
than the server's cap fails the item with `ItemTooLarge`).
"""

from __future__ import annotations

import string
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator

from folio.integrations.connector import Content, Item, Published
from folio.integrations.connectors._json import mapping
from folio.integrations.connectors._notion_pages import Ancestry, is_live, item_of, parent_of, published
from folio.integrations.connectors.notion_markdown import (
    NESTING,
    Block,
    carries,
    is_summary,
    page_metadata,
    page_title,
    render_page,
    summary_block,
)
from folio.integrations.errors import ItemGone, SourceRefused, SourceUnavailable
from folio.integrations.http import HeaderSecret, SourceHttp

NOTION_VERSION = "2022-06-28"
PAGE_SIZE = 100
MAX_BLOCKS = 5_000
MAX_DEPTH = 8
MAX_SOURCE_BYTES = 16 * 1024 * 1024
_MAX_PARENT_HOPS = 32
_MAX_MARKER_CHARS = 200
_HEADERS = {"Notion-Version": NOTION_VERSION}


def notion_id(value: str) -> str:
    """A Notion id in the dashed form the API answers with, from either form."""
    compact = value.strip().replace("-", "").lower()
    if len(compact) != 32 or not set(compact) <= set(string.hexdigits):
        raise ValueError("a Notion id has 32 hexadecimal digits (dashes optional)")
    return f"{compact[:8]}-{compact[8:12]}-{compact[12:16]}-{compact[16:20]}-{compact[20:]}"


NotionId = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9a-fA-F-]{32,40}$"), AfterValidator(notion_id)
]


class NotionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database_ids: list[NotionId] = Field(
        default_factory=list,
        max_length=100,
        description="Databases whose pages are synced (ids from their URLs, with or without dashes).",
    )
    page_ids: list[NotionId] = Field(
        default_factory=list,
        max_length=100,
        description="Pages synced with every page under them. With neither list, every page shared with the "
        "integration is synced.",
    )

    @field_validator("database_ids", "page_ids")
    @classmethod
    def _distinct(cls, ids: list[str]) -> list[str]:
        return list(dict.fromkeys(ids))


class NotionCredentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: HeaderSecret = Field(
        min_length=1,
        max_length=500,
        description="The internal integration secret (Notion: Settings → Connections → Develop or manage "
        "integrations); share the pages or databases to sync with the integration.",
    )

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token.get_secret_value()}"}


@dataclass(slots=True)
class _Budget:
    """What one fetch may still read."""

    blocks: int = MAX_BLOCKS
    bytes: int = MAX_SOURCE_BYTES
    truncated: bool = False

    @property
    def spent(self) -> bool:
        return self.blocks <= 0 or self.bytes <= 0


class NotionConnector:
    def __init__(self, config: NotionConfig, http: SourceHttp, base_url: str, *, max_items: int) -> None:
        self.config = config
        self.http = http
        self.api = f"{base_url.rstrip('/')}/v1"
        self.max_items = max_items
        # The listed page objects of the items the sync will fetch (their version is not the one held): the fetch
        # takes the properties from them instead of asking for each page again.
        self._known: Mapping[str, str] = {}
        self._listed: dict[str, dict[str, Any]] = {}

    async def check(self) -> str:
        me = await self._call("GET", "/users/me", what="the integration's bot user")
        workspace = mapping(me.get("bot")).get("workspace_name")
        if isinstance(workspace, str) and workspace:
            return f"Notion workspace {workspace}"[:200]
        return f"Notion integration {me.get('name') or me.get('id', '')}"[:200]

    async def listing(self, known: Mapping[str, str]) -> AsyncIterator[Item]:
        self._known, self._listed = known, {}
        seen: set[str] = set()
        async with aclosing(self._pages()) as pages:
            async for item in pages:
                if item.external_id in seen:
                    continue
                seen.add(item.external_id)
                yield item
                if len(seen) >= self.max_items:
                    return

    async def fetch(self, item: Item) -> Content:
        try:
            page_id = notion_id(item.external_id)
        except ValueError as exc:
            raise ItemGone(item.external_id) from exc
        budget = _Budget()
        try:
            page = self._listed.pop(page_id, None) or await self._call("GET", f"/pages/{page_id}", what="a page")
            if page.get("archived") or page.get("in_trash"):
                raise ItemGone(page_id)
            blocks = await self._blocks(page_id, depth=0, budget=budget)
        except SourceRefused as exc:
            if exc.status in (404, 410):
                raise ItemGone(page_id) from exc
            raise
        url = page.get("url") if isinstance(page.get("url"), str) else item.url
        markdown = render_page(page_title(page) or item.title, blocks, url)
        metadata = page_metadata(page.get("properties"))
        if budget.truncated:
            metadata["notion_truncated"] = True
        return Content(body=markdown.encode(), filename=f"{page_id}.md", metadata=metadata)

    async def publish(self, target_id: str, *, title: str, markdown: str, marker: str) -> Published:
        """A toggle titled `title`, tagged `folio:<marker>`, appended to the page in one request; when the page
        already has a toggle with that tag, that one. `ItemGone` when the page is gone or unshared; `ValueError`
        for a target that is not a Notion id or a marker of more than 200 characters."""
        if not marker or len(marker) > _MAX_MARKER_CHARS:
            raise ValueError(f"a marker has 1 to {_MAX_MARKER_CHARS} characters")
        page_id = notion_id(target_id)
        try:
            page = await self._call("GET", f"/pages/{page_id}", what="the page to write the summary to")
        except SourceRefused as exc:
            if exc.status in (404, 410):
                raise ItemGone(page_id) from exc
            raise
        if page.get("archived") or page.get("in_trash"):
            raise ItemGone(page_id)
        page_url = page.get("url") if isinstance(page.get("url"), str) else None
        async with aclosing(self._results("GET", f"/blocks/{page_id}/children", what="the page's blocks")) as blocks:
            async for block in blocks:
                if carries(block, marker):
                    return published(str(block.get("id", "")), page_url)
        appended = await self._call(
            "PATCH",
            f"/blocks/{page_id}/children",
            what="the summary's append",
            json={"children": [summary_block(title, markdown, marker)]},
        )
        created = appended.get("results")
        if not isinstance(created, list) or not created or not isinstance(created[0], dict):
            raise SourceUnavailable("The source's answer to the summary's append names no block.")
        return published(str(created[0].get("id", "")), page_url)

    async def _pages(self) -> AsyncGenerator[Item, None]:
        if not self.config.page_ids and not self.config.database_ids:
            async with aclosing(self._search()) as pages:
                async for page in pages:
                    yield self._item(page)
        if self.config.page_ids:
            async with aclosing(self._under_roots()) as items:
                async for item in items:
                    yield item
        for database_id in self.config.database_ids:
            query = self._results(
                "POST",
                f"/databases/{database_id}/query",
                what=f"the query of database {database_id}",
                body={"sorts": [{"timestamp": "last_edited_time", "direction": "ascending"}]},
            )
            async with aclosing(query) as pages:
                async for page in pages:
                    if is_live(page):
                        yield self._item(page)

    def _item(self, page: dict[str, Any]) -> Item:
        item = item_of(page)
        if self._known.get(item.external_id) != item.version:
            self._listed[item.external_id] = page
        return item

    async def _search(self) -> AsyncGenerator[dict[str, Any], None]:
        results = self._results(
            "POST",
            "/search",
            what="the page search",
            body={
                "filter": {"property": "object", "value": "page"},
                "sort": {"timestamp": "last_edited_time", "direction": "ascending"},
            },
        )
        async with aclosing(results) as pages:
            async for page in pages:
                if page.get("object") == "page" and is_live(page):
                    yield page

    async def _under_roots(self) -> AsyncGenerator[Item, None]:
        """The search's pages under `page_ids`: a page whose parent was already placed is decided at once, the
        others once the search has been read (a parent may come after its child)."""
        roots = set(self.config.page_ids)
        ancestry = Ancestry(roots)
        pending: list[Item] = []
        async with aclosing(self._search()) as pages:
            async for page in pages:
                item = self._item(page)
                ancestry.parents[item.external_id] = parent_of(page)
                if ancestry.known(item.external_id):
                    yield item
                else:
                    pending.append(item)
        for item in pending:
            if await self._reaches_root(item.external_id, ancestry):
                yield item

    async def _reaches_root(self, page_id: str, ancestry: Ancestry) -> bool:
        chain: list[str] = []
        node = ("page_id", page_id)
        verdict = False
        for _ in range(_MAX_PARENT_HOPS):
            kind, ident = node
            if kind == "block_id":
                node = await self._block_parent(ident, ancestry)
                continue
            if kind != "page_id" or ident in ancestry.outside:
                break
            if ident in ancestry.inside or ident in ancestry.roots:
                verdict = True
                break
            if ident not in ancestry.parents:
                break
            chain.append(ident)
            node = ancestry.parents[ident]
        (ancestry.inside if verdict else ancestry.outside).update(chain)
        return verdict

    async def _block_parent(self, block_id: str, ancestry: Ancestry) -> tuple[str, str]:
        if block_id not in ancestry.block_parents:
            try:
                block = await self._call("GET", f"/blocks/{block_id}", what="a block holding a page")
            except SourceRefused as exc:
                if exc.status not in (404, 410):
                    raise
                block = {}
            ancestry.block_parents[block_id] = parent_of(block)
        return ancestry.block_parents[block_id]

    async def _blocks(self, block_id: str, *, depth: int, budget: _Budget) -> list[Block]:
        blocks: list[Block] = []
        children = self._results("GET", f"/blocks/{block_id}/children", what="a page's blocks", budget=budget)
        async with aclosing(children) as answers:
            async for data in answers:
                if budget.blocks <= 0:
                    budget.truncated = True
                    break
                budget.blocks -= 1
                blocks.append(Block(data))
        for block in blocks:
            if not block.data.get("has_children") or block.type not in NESTING or is_summary(block.data):
                continue
            if depth + 1 >= MAX_DEPTH or budget.spent:
                budget.truncated = True
                continue
            synced = block.value.get("synced_from") if block.type == "synced_block" else None
            source = synced.get("block_id") if isinstance(synced, dict) else block.data.get("id")
            try:
                block.children = await self._blocks(str(source), depth=depth + 1, budget=budget)
            except SourceRefused as exc:
                # A nested block gone since its parent was read, or a synced block whose original is not shared.
                if exc.status not in (404, 410):
                    raise
        return blocks

    async def _results(
        self,
        method: str,
        path: str,
        *,
        what: str,
        body: dict[str, Any] | None = None,
        budget: _Budget | None = None,
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The results of every page of a paginated endpoint (cursor in the body of a POST, in the query of a GET)."""
        cursor: str | None = None
        while True:
            paging: dict[str, Any] = {"page_size": PAGE_SIZE} | ({"start_cursor": cursor} if cursor else {})
            if method == "GET":
                answer = await self._call(method, path, what=what, params=paging, budget=budget)
            else:
                answer = await self._call(method, path, what=what, json=(body or {}) | paging, budget=budget)
            results = answer.get("results")
            for result in results if isinstance(results, list) else []:
                if isinstance(result, dict):
                    yield result
            following = answer.get("next_cursor")
            if not answer.get("has_more") or not isinstance(following, str) or not following:
                return
            if following == cursor:
                raise SourceUnavailable(f"The source's answer to {what} gave the same cursor again.")
            if budget is not None and budget.spent:
                budget.truncated = True
                return
            cursor = following

    async def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: dict[str, Any] | None = None,
        json: Any = None,
        budget: _Budget | None = None,
    ) -> dict[str, Any]:
        response = await self.http.request(
            method, f"{self.api}{path}", what=what, params=params, json=json, headers=_HEADERS
        )
        if budget is not None:
            budget.bytes -= len(response.content)
        try:
            answer = response.json()
        except ValueError as exc:
            raise SourceUnavailable(f"The source's answer to {what} is not JSON.") from exc
        if not isinstance(answer, dict):
            raise SourceUnavailable(f"The source's answer to {what} is not a JSON object.")
        return answer
