"""A stand-in for Notion's API (version 2022-06-28) over real HTTP: pages with properties and block trees,
databases, search, database queries, block children (read and append), the bot user, and the OAuth endpoints of a
public integration. Answers have Notion's shapes, its cursors, limits and error bodies
(`{"object": "error", "status", "code", "message"}`).

Every edit moves a page's `last_edited_time` on by at least a millisecond; real Notion rounds it to the minute.
The search's cursor is opaque and keyed on the sort (edit time, id), so a page edited while a listing pages through
moves without shifting the others."""

from __future__ import annotations

import argparse
import base64
import json
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

TOKEN = "secret_fakeNotionIntegration4Hq8zT"
CLIENT_ID = "fake-notion-client"
CLIENT_SECRET = "fake-notion-client-secret-Wm3v"
VERSION = "2022-06-28"
BOT_ID = "0b0b0b0b-0000-4000-8000-000000000001"
WORKSPACE_ID = "0c0c0c0c-0000-4000-8000-000000000002"
AUTHOR = {"object": "user", "id": "0a0a0a0a-0000-4000-8000-000000000003"}
_PLAIN = {"bold": False, "italic": False, "strikethrough": False, "underline": False, "code": False, "color": "default"}

Spec = dict[str, Any]
Handler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


def text(content: str, *, link: str | None = None, **annotations: bool | str) -> dict[str, Any]:
    """A rich text item as a request carries it (the fake answers with the whole form)."""
    item: dict[str, Any] = {"type": "text", "text": {"content": content, "link": {"url": link} if link else None}}
    if annotations:
        item["annotations"] = annotations
    return item


def block(kind: str, *children: Spec, **payload: Any) -> Spec:
    """A block to create: `block("to_do", rich_text=[text("Buy milk")], checked=True)`."""
    spec: Spec = {"type": kind, kind: payload}
    if children:
        spec["children"] = list(children)
    return spec


def paragraph(content: str, *children: Spec) -> Spec:
    return block("paragraph", *children, rich_text=[text(content)])


@dataclass(frozen=True, slots=True)
class Logged:
    method: str
    path: str
    query: dict[str, str]


@dataclass
class FakeNotion:
    base_url: str = ""
    workspace_name: str = "Acme Docs"
    pages: dict[str, dict[str, Any]] = field(default_factory=dict)
    databases: dict[str, dict[str, Any]] = field(default_factory=dict)
    blocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    unshared: set[str] = field(default_factory=set)
    requests: list[Logged] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    _access: set[str] = field(default_factory=set)
    _refresh: set[str] = field(default_factory=set)
    _codes: dict[str, str] = field(default_factory=dict)
    _limited: int = 0
    _retry_after: int = 1
    _revoked: bool = False
    _clock: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def reset(self) -> None:
        for each in (self.pages, self.databases, self.blocks, self.children, self._codes):
            each.clear()
        for group in (self.unshared, self._access, self._refresh):
            group.clear()
        self.requests.clear()
        self.issued.clear()
        self._limited, self._revoked = 0, False

    # State tests change.

    def add_page(
        self,
        title: str,
        *,
        blocks: Sequence[Spec] = (),
        parent: str | None = None,
        database: str | None = None,
        in_block: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> str:
        """A page at the workspace's top, under a page (`parent`), a block (`in_block`) or in a database."""
        page_id = str(uuid.uuid4())
        now = self._tick()
        self.pages[page_id] = {"id": page_id, "title": title, "properties": properties or {}, "archived": False}
        self.pages[page_id] |= {"created_time": now, "last_edited_time": now}
        self.blocks[page_id] = {"id": page_id, "page": page_id, "created_time": now, **child_page(title)}
        self._place(page_id, parent=parent, database=database, in_block=in_block)
        self._append(page_id, page_id, list(blocks), now)
        return page_id

    def add_database(self, title: str, *, parent: str | None = None) -> str:
        database_id = str(uuid.uuid4())
        now = self._tick()
        self.databases[database_id] = {"id": database_id, "title": title, "created_time": now, "last_edited_time": now}
        if parent is not None:
            spec = {"type": "child_database", "child_database": {"title": title}}
            self.blocks[database_id] = {"id": database_id, "page": parent, "created_time": now, **spec}
            self.blocks[database_id]["parent"] = {"type": "page_id", "page_id": parent}
            self.children.setdefault(parent, []).append(database_id)
        return database_id

    def seed(self, count: int, *, database: str | None = None) -> list[str]:
        """`count` pages of one paragraph each, quickly (5,000 in a small fraction of a second)."""
        return [
            self.add_page(f"Page {n}", blocks=[paragraph(f"Body of page {n}.")], database=database)
            for n in range(count)
        ]

    def edit_page(self, page_id: str, *, title: str | None = None, blocks: list[Spec] | None = None) -> None:
        now = self._tick()
        if title is not None:
            self.pages[page_id]["title"] = title
            self.blocks[page_id]["child_page"] = {"title": title}
        if blocks is not None:
            # Its child pages and databases stay: they are pages of their own, not the edited text.
            kept = [each for each in self.children.get(page_id, []) if each in self.pages or each in self.databases]
            self.children[page_id] = kept
            self._append(page_id, page_id, blocks, now)
        self.pages[page_id]["last_edited_time"] = now

    def move_page(self, page_id: str, *, parent: str | None = None, database: str | None = None) -> None:
        self._unplace(page_id)
        self._place(page_id, parent=parent, database=database, in_block=None)
        self.pages[page_id]["last_edited_time"] = self._tick()

    def delete_page(self, page_id: str) -> None:
        """To the trash, as Notion does: the page and the pages under it are archived."""
        for each in self._subtree(page_id):
            self.pages[each]["archived"] = True

    def unshare(self, object_id: str) -> None:
        """The page or database is no longer shared with the integration: it and everything under it answer 404."""
        self.unshared.add(object_id)

    def rate_limit_next(self, count: int, retry_after: int = 1) -> None:
        self._limited, self._retry_after = count, retry_after

    def revoke(self) -> None:
        """Every token, the internal secret and OAuth tokens alike, is refused from now on."""
        self._revoked = True

    def expire_tokens(self) -> None:
        """The OAuth access tokens handed out so far expire; their refresh tokens still work."""
        self._access.clear()

    def calls(self, path_prefix: str = "/v1/") -> list[Logged]:
        return [each for each in self.requests if each.path.startswith(path_prefix)]

    # The server.

    def app(self) -> Starlette:
        api = self._api
        return Starlette(
            routes=[
                Route("/v1/search", api(self.search), methods=["POST"]),
                Route("/v1/databases/{id}/query", api(self.query), methods=["POST"]),
                Route("/v1/pages/{id}", api(self.retrieve_page)),
                Route("/v1/blocks/{id}", api(self.retrieve_block)),
                Route("/v1/blocks/{id}/children", api(self.block_children), methods=["GET", "PATCH"]),
                Route("/v1/users/me", api(self.me)),
                Route("/v1/oauth/authorize", self.authorize),
                Route("/v1/oauth/token", self.token, methods=["POST"]),
            ]
        )

    def _api(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            self.requests.append(Logged(request.method, request.url.path, dict(request.query_params)))
            if self._limited > 0:
                self._limited -= 1
                return _error(
                    429, "rate_limited", "You have been rate limited.", {"Retry-After": str(self._retry_after)}
                )
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            if self._revoked or (token != TOKEN and token not in self._access):
                return _error(401, "unauthorized", "API token is invalid.")
            if request.headers.get("notion-version") != VERSION:
                return _error(400, "missing_version", "Notion-Version header should be defined.")
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                return _error(400, "invalid_json", "Error parsing JSON body.")
            if not isinstance(body, dict):
                return _error(400, "validation_error", "body should be an object.")
            return await handler(request, body)

        return endpoint

    async def search(self, request: Request, body: dict[str, Any]) -> Response:
        wanted = (body.get("filter") or {}).get("value")
        sort = body.get("sort") or {"timestamp": "last_edited_time", "direction": "descending"}
        if wanted not in (None, "page", "database") or sort.get("timestamp") != "last_edited_time":
            return _error(400, "validation_error", "body.filter or body.sort failed validation.")
        found: list[dict[str, Any]] = []
        if wanted in (None, "page"):
            found += [page for page in self.pages.values() if self._listed(page["id"])]
        if wanted in (None, "database"):
            found += [db for db in self.databases.values() if self._visible(db["id"])]
        query = str(body.get("query") or "").lower()
        found = [each for each in found if query in each["title"].lower()]
        descending = sort.get("direction") == "descending"
        return _keyset_page(found, "last_edited_time", descending, body, self._json)

    async def query(self, request: Request, body: dict[str, Any]) -> Response:
        database_id = _dashed(request.path_params["id"])
        if database_id not in self.databases or not self._visible(database_id):
            return _not_found(database_id)
        sort = (body.get("sorts") or [{"timestamp": "created_time", "direction": "descending"}])[0]
        key = "last_edited_time" if sort.get("timestamp") == "last_edited_time" else "created_time"
        found = [
            page
            for page in self.pages.values()
            if page["parent"].get("database_id") == database_id and self._listed(page["id"])
        ]
        return _keyset_page(found, key, sort.get("direction") == "descending", body, self._page_json)

    async def retrieve_page(self, request: Request, body: dict[str, Any]) -> Response:
        page_id = _dashed(request.path_params["id"])
        if page_id not in self.pages or not self._visible(page_id):
            return _not_found(page_id)
        return JSONResponse(self._page_json(self.pages[page_id]))

    async def retrieve_block(self, request: Request, body: dict[str, Any]) -> Response:
        block_id = _dashed(request.path_params["id"])
        if block_id not in self.blocks or not self._visible(self.blocks[block_id]["page"]):
            return _not_found(block_id)
        return JSONResponse(self._block_json(block_id))

    async def block_children(self, request: Request, body: dict[str, Any]) -> Response:
        block_id = _dashed(request.path_params["id"])
        if block_id not in self.blocks or not self._visible(self.blocks[block_id]["page"]):
            return _not_found(block_id)
        if request.method == "PATCH":
            return self._append_request(block_id, body)
        try:
            size = int(request.query_params.get("page_size", "100"))
        except ValueError:
            size = 0
        if not 1 <= size <= 100:
            return _error(400, "validation_error", "page_size should be a number between 1 and 100.")
        ids = self.children.get(self._holder(block_id), [])
        cursor = request.query_params.get("start_cursor")
        start = ids.index(cursor) if cursor in ids else 0
        if cursor and cursor not in ids:
            return _error(400, "validation_error", "start_cursor should be a valid cursor.")
        shown = ids[start : start + size]
        following = ids[start + size] if start + size < len(ids) else None
        return JSONResponse(_list([self._block_json(each) for each in shown], following, "block"))

    async def me(self, request: Request, body: dict[str, Any]) -> Response:
        owner = {"type": "workspace", "workspace": True}
        bot = {"owner": owner, "workspace_name": self.workspace_name}
        return JSONResponse(
            {"object": "user", "id": BOT_ID, "name": "Folio", "avatar_url": None, "type": "bot", "bot": bot}
        )

    async def authorize(self, request: Request) -> Response:
        self.requests.append(Logged(request.method, request.url.path, dict(request.query_params)))
        query = request.query_params
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code" or not query.get("redirect_uri"):
            return _error(400, "invalid_request", "client_id, response_type=code and redirect_uri are required.")
        code = secrets.token_urlsafe(18)
        self._codes[code] = query["redirect_uri"]
        self.issued.append(code)
        answer = {"code": code} | ({"state": query["state"]} if "state" in query else {})
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode(answer)}", status_code=302)

    async def token(self, request: Request) -> Response:
        self.requests.append(Logged(request.method, request.url.path, {}))
        pair = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {pair}":
            return _error(401, "unauthorized", "Invalid client credentials.")
        raw = await request.body()
        # Notion documents a JSON body; a form body, as OAuth libraries send, is read too.
        is_json = request.headers.get("content-type", "").startswith("application/json")
        form = json.loads(raw) if is_json else {k: str(v) for k, v in (await request.form()).items()}
        if self._revoked:
            return _error(400, "invalid_grant", "The grant was revoked.")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            redirect_uri = self._codes.pop(str(form.get("code")), None)
            if redirect_uri is None or form.get("redirect_uri", redirect_uri) != redirect_uri:
                return _error(400, "invalid_grant", "Invalid code: this code has been revoked.")
        elif grant == "refresh_token":
            if form.get("refresh_token") not in self._refresh:
                return _error(400, "invalid_grant", "Invalid refresh token.")
            self._refresh.discard(form["refresh_token"])
        else:
            return _error(400, "unsupported_grant_type", "grant_type is not supported.")
        access, refresh = f"ntn_{secrets.token_urlsafe(24)}", f"nrt_{secrets.token_urlsafe(24)}"
        self._access.add(access)
        self._refresh.add(refresh)
        self.issued += [access, refresh]
        return JSONResponse(
            {
                "access_token": access,
                "token_type": "bearer",
                "refresh_token": refresh,
                "bot_id": BOT_ID,
                "workspace_id": WORKSPACE_ID,
                "workspace_name": self.workspace_name,
                "workspace_icon": None,
                "owner": {"type": "user", "user": {**AUTHOR, "name": "Ada", "type": "person"}},
                "duplicated_template_id": None,
                "request_id": str(uuid.uuid4()),
            }
        )

    # Internals.

    def _append_request(self, block_id: str, body: dict[str, Any]) -> Response:
        specs = body.get("children")
        if not isinstance(specs, list) or not 1 <= len(specs) <= 100:
            return _error(400, "validation_error", "body.children should have between 1 and 100 items.")
        problem = find_oversized(specs, depth=1)
        if problem:
            return _error(400, "validation_error", problem)
        page_id = self.blocks[block_id]["page"]
        now = self._tick()
        created = self._append(page_id, block_id, specs, now)
        self.pages[page_id]["last_edited_time"] = now
        return JSONResponse(_list([self._block_json(each) for each in created], None, "block"))

    def _append(self, page_id: str, parent_id: str, specs: Sequence[Spec], now: str) -> list[str]:
        created: list[str] = []
        parent_kind = "page_id" if parent_id == page_id else "block_id"
        for spec in specs:
            block_id = str(uuid.uuid4())
            kind = spec["type"]
            stored = {"id": block_id, "page": page_id, "created_time": now, "type": kind, kind: normalised(spec[kind])}
            stored["parent"] = {"type": parent_kind, parent_kind: parent_id}
            self.blocks[block_id] = stored
            self.children.setdefault(parent_id, []).append(block_id)
            nested = spec.get("children") or spec[kind].get("children") or []
            stored[kind].pop("children", None)
            self._append(page_id, block_id, nested, now)
            created.append(block_id)
        return created

    def _place(self, page_id: str, *, parent: str | None, database: str | None, in_block: str | None) -> None:
        page = self.pages[page_id]
        holder = in_block or parent
        if database is not None:
            page["parent"] = {"type": "database_id", "database_id": database}
        elif holder is not None:
            kind = "block_id" if in_block else "page_id"
            page["parent"] = {"type": kind, kind: holder}
            self.children.setdefault(holder, []).append(page_id)
        else:
            page["parent"] = {"type": "workspace", "workspace": True}
        self.blocks[page_id]["parent"] = page["parent"]

    def _unplace(self, page_id: str) -> None:
        parent = self.pages[page_id]["parent"]
        holder = parent.get("page_id") or parent.get("block_id")
        if holder in self.children and page_id in self.children[holder]:
            self.children[holder].remove(page_id)

    def _owner(self, object_id: str) -> str | None:
        """The page or database the object sits in, if any."""
        if object_id in self.pages:
            parent = self.pages[object_id]["parent"]
            if parent["type"] == "block_id":
                return str(self.blocks[parent["block_id"]]["page"])
            holder = parent.get("page_id") or parent.get("database_id")
            return str(holder) if holder else None
        if object_id in self.blocks and object_id != self.blocks[object_id]["page"]:
            return str(self.blocks[object_id]["page"])
        return None

    def _visible(self, object_id: str) -> bool:
        """Shared with the integration: neither it nor anything it sits in was unshared."""
        seen: set[str] = set()
        current: str | None = object_id
        while current is not None and current not in seen:
            if current in self.unshared:
                return False
            seen.add(current)
            current = self._owner(current)
        return True

    def _listed(self, page_id: str) -> bool:
        return not self.pages[page_id]["archived"] and self._visible(page_id)

    def _subtree(self, page_id: str) -> list[str]:
        below = [each for each in self.pages if self._owner(each) == page_id]
        return [page_id, *(each for child in below for each in self._subtree(child))]

    def _tick(self) -> str:
        self._clock = max(datetime.now(UTC), self._clock + timedelta(milliseconds=1))
        return self._clock.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _page_json(self, page: dict[str, Any]) -> dict[str, Any]:
        in_database = page["parent"]["type"] == "database_id"
        title_name = "Name" if in_database else "title"
        title = {"id": "title", "type": "title", "title": normalised({"rich_text": [text(page["title"])]})["rich_text"]}
        return {
            "object": "page",
            "id": page["id"],
            "created_time": page["created_time"],
            "last_edited_time": page["last_edited_time"],
            "created_by": AUTHOR,
            "last_edited_by": AUTHOR,
            "cover": None,
            "icon": None,
            "parent": page["parent"],
            "archived": page["archived"],
            "in_trash": page["archived"],
            "properties": {title_name: title, **{name: _property(value) for name, value in page["properties"].items()}},
            "url": f"https://www.notion.so/{page['id'].replace('-', '')}",
            "public_url": None,
        }

    def _json(self, found: dict[str, Any]) -> dict[str, Any]:
        return self._page_json(found) if found["id"] in self.pages else self._database_json(found)

    def _database_json(self, database: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": "database",
            "id": database["id"],
            "title": normalised({"rich_text": [text(database["title"])]})["rich_text"],
            "last_edited_time": database["last_edited_time"],
            "url": f"https://www.notion.so/{database['id'].replace('-', '')}",
            "archived": False,
        }

    def _block_json(self, block_id: str) -> dict[str, Any]:
        return block_json(self.blocks[block_id], has_children=bool(self.children.get(self._holder(block_id))))

    def _holder(self, block_id: str) -> str:
        """Where a block's children are: a synced block's copy shows its original's."""
        synced = self.blocks[block_id].get("synced_block") or {}
        return str((synced.get("synced_from") or {}).get("block_id", block_id))


def _keyset_page(
    found: list[dict[str, Any]],
    key: str,
    descending: bool,
    body: dict[str, Any],
    render: Callable[[dict[str, Any]], dict[str, Any]],
) -> Response:
    """A page of `found` (raw objects, answered through `render`) after the cursor: the cursor is the sort key of
    the next object, so objects moving while a client pages through do not shift the others."""
    size = body.get("page_size", 100)
    if not isinstance(size, int) or not 1 <= size <= 100:
        return _error(400, "validation_error", "body.page_size should be a number between 1 and 100.")
    found.sort(key=lambda each: (each[key], each["id"]), reverse=descending)
    keys = [f"{each[key]}|{each['id']}" for each in found]
    start = 0
    if body.get("start_cursor"):
        try:
            after = base64.urlsafe_b64decode(str(body["start_cursor"]).encode()).decode()
        except ValueError:
            return _error(400, "validation_error", "body.start_cursor should be a valid cursor.")
        start = sum(1 for each in keys if (each > after if descending else each < after))
    following = None
    if start + size < len(found):
        following = base64.urlsafe_b64encode(keys[start + size].encode()).decode()
    return JSONResponse(_list([render(each) for each in found[start : start + size]], following, "page_or_database"))


def _list(results: list[dict[str, Any]], following: str | None, kind: str) -> dict[str, Any]:
    return {
        "object": "list",
        "results": results,
        "next_cursor": following,
        "has_more": following is not None,
        "type": kind,
        kind: {},
        "request_id": str(uuid.uuid4()),
    }


def child_page(title: str) -> Spec:
    return {"type": "child_page", "child_page": {"title": title}}


def _property(value: dict[str, Any]) -> dict[str, Any]:
    if value.get("type") in ("title", "rich_text"):
        return value | {value["type"]: [_rich(item) for item in value[value["type"]]]}
    return value


def normalised(payload: dict[str, Any]) -> dict[str, Any]:
    """A block's content as Notion answers it: every rich text item whole (annotations, plain_text, href)."""
    whole = dict(payload)
    for key in ("rich_text", "caption"):
        if isinstance(whole.get(key), list):
            whole[key] = [_rich(item) for item in whole[key]]
    if isinstance(whole.get("cells"), list):
        whole["cells"] = [[_rich(item) for item in cell] for cell in whole["cells"]]
    return whole


def _rich(item: dict[str, Any]) -> dict[str, Any]:
    kind = item.get("type", "text")
    annotations = _PLAIN | item.get("annotations", {})
    if kind == "equation":
        expression = item["equation"]["expression"]
        return {
            "type": kind,
            kind: {"expression": expression},
            "annotations": annotations,
            "plain_text": expression,
            "href": None,
        }
    if kind == "mention":
        return {**item, "annotations": annotations, "plain_text": item.get("plain_text", ""), "href": item.get("href")}
    link = item["text"].get("link")
    content = {"content": item["text"]["content"], "link": link}
    href = link["url"] if link else None
    return {"type": "text", "text": content, "annotations": annotations, "plain_text": content["content"], "href": href}


def find_oversized(specs: list[Any], depth: int) -> str | None:
    """What breaks Notion's limits on an append, if anything: 100 blocks or rich text items an array, 2,000
    characters (UTF-16 units) a text item, children two levels deep."""
    for spec in specs:
        kind = spec.get("type") if isinstance(spec, dict) else None
        payload = spec.get(kind) if isinstance(kind, str) else None
        if not isinstance(payload, dict):
            return "body.children should hold block objects."
        for key in ("rich_text", "caption"):
            items = payload.get(key) or []
            if len(items) > 100:
                return f"body.children[].{kind}.{key}.length should be ≤ 100."
            if any(len(item.get("text", {}).get("content", "").encode("utf-16-le")) > 4000 for item in items):
                return f"body.children[].{kind}.{key}[].text.content.length should be ≤ 2000."
        nested = payload.get("children") or spec.get("children") or []
        if nested and (depth >= 2 or len(nested) > 100):
            return "body.children: at most two levels and 100 blocks a level in one request."
        problem = find_oversized(nested, depth + 1)
        if problem:
            return problem
    return None


def block_json(stored: dict[str, Any], *, has_children: bool) -> dict[str, Any]:
    kind = stored["type"]
    return {
        "object": "block",
        "id": stored["id"],
        "parent": stored["parent"],
        "created_time": stored["created_time"],
        "last_edited_time": stored["created_time"],
        "created_by": AUTHOR,
        "last_edited_by": AUTHOR,
        "has_children": has_children,
        "archived": False,
        "in_trash": False,
        "type": kind,
        kind: stored[kind],
    }


def _dashed(value: str) -> str:
    compact = value.replace("-", "").lower()
    if len(compact) != 32:
        return value
    return f"{compact[:8]}-{compact[8:12]}-{compact[12:16]}-{compact[16:20]}-{compact[20:]}"


def _not_found(object_id: str) -> Response:
    return _error(
        404,
        "object_not_found",
        f"Could not find object with ID: {object_id}. Make sure the relevant pages and databases are shared with "
        "your integration.",
    )


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"object": "error", "status": status, "code": code, "message": message, "request_id": str(uuid.uuid4())}
    return JSONResponse(body, status_code=status, headers=headers)


def main() -> None:
    parser = argparse.ArgumentParser(description="A stand-in for Notion's API, to try Folio's Notion integration.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--items", type=int, default=25, help="pages to seed")
    options = parser.parse_args()
    import uvicorn

    fake = FakeNotion(base_url=f"http://{options.host}:{options.port}")
    fake.seed(options.items)
    print(f"Notion stand-in at {fake.base_url}, token {TOKEN}")  # noqa: T201
    print(f"OAuth client id {CLIENT_ID}, secret {CLIENT_SECRET}")  # noqa: T201
    print(  # noqa: T201
        f"Run Folio with FOLIO_INTEGRATIONS__NOTION_API_URL={fake.base_url} and, for a local address, "
        f"FOLIO_OUTBOUND__ALLOW_PRIVATE=true FOLIO_OUTBOUND__ALLOW_HOSTS='[\"{options.host}\"]'"
    )
    uvicorn.run(fake.app(), host=options.host, port=options.port, log_level="warning")


if __name__ == "__main__":
    main()
