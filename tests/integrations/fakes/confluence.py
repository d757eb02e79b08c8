"""A stand-in for Confluence Cloud and Atlassian's OAuth 2.0 (3LO) authorization server, as one real HTTP server.

The REST API v2 as documented: `/wiki/api/v2/...` with HTTP Basic (email and API token) at the site's root, and the
same paths under `/ex/confluence/{cloud id}` with an OAuth access token (Bearer), as `api.atlassian.com` serves
them. Listings are cursor-paginated like v2: `limit` 1-250, an opaque `cursor`, the next page's link relative to the
site's root both in `_links.next` and in a `Link: <...>; rel="next"` header, `_links.base` the site's `/wiki`.
Errors carry v2's `{"errors": [{"status", "code", "title", "detail"}]}`.

Attachments download like Cloud's: the v1 REST download redirects to a signed media URL that refuses
credentials, and the v2 `downloadLink` (`/wiki/download/attachments/...`) answers 401, as since CHANGE-2735.
Stored storage bodies lose their HTML comments, as Confluence's do.

    python -m tests.integrations.fakes.confluence --port 8790 --items 200
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hmac
import itertools
import json
import secrets
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

EMAIL = "folio-bot@example.com"
API_TOKEN = "ATATT3xFfGF0-fake-confluence-token-7Qm2"
CLIENT_ID = "fake-atlassian-client"
CLIENT_SECRET = "fake-atlassian-secret-Zk81"
CLOUD_ID = "11111111-2222-4333-8444-555555555555"
SITE_NAME = "folio-fake"
AUTHOR_ID = "557058:0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
_NAMESPACES = '<r xmlns:ac="http://atlassian.com/content" xmlns:ri="http://atlassian.com/resource/identifier">'
_ENTITIES = {"&nbsp;": "&#160;", "&mdash;": "&#8212;", "&ndash;": "&#8211;"}
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class FakeSpace:
    id: str
    key: str
    name: str


@dataclass
class FakePage:
    id: str
    space_id: str
    title: str
    storage: str
    version: int = 1
    status: str = "current"
    labels: list[str] = field(default_factory=list)
    edited_at: str = "2026-01-05T10:00:00.000Z"


@dataclass
class FakeAttachment:
    id: str
    page_id: str
    title: str
    media_type: str
    data: bytes
    version: int = 1
    file_id: str = field(default_factory=lambda: secrets.token_hex(16))


@dataclass
class FakeComment:
    id: str
    container: str  # "pageId" or "attachmentId"
    container_id: str
    storage: str


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]


def sample_storage(title: str) -> str:
    """A body in storage format with what real pages hold: headings, a table, macros, code, links, tasks."""
    return (
        f"<h1>{title}</h1><p>Intro with <strong>bold</strong> &amp; an&nbsp;entity.</p>"
        "<h2>Table</h2><table><tbody><tr><th>Service</th><th>Owner</th></tr>"
        "<tr><td>billing</td><td>Team Rocket</td></tr></tbody></table>"
        '<ac:structured-macro ac:name="info" ac:schema-version="1"><ac:parameter ac:name="title">Heads up'
        "</ac:parameter><ac:rich-text-body><p>Deploys freeze on Fridays.</p></ac:rich-text-body>"
        "</ac:structured-macro>"
        '<ac:structured-macro ac:name="code" ac:schema-version="1"><ac:parameter ac:name="language">python'
        '</ac:parameter><ac:plain-text-body><![CDATA[if a < b and c > d:\n    print("<ok>")]]>'
        "</ac:plain-text-body></ac:structured-macro>"
        '<p>See <ac:link><ri:page ri:content-title="Runbook" /><ac:plain-text-link-body><![CDATA[the runbook]]>'
        '</ac:plain-text-link-body></ac:link> <ac:emoticon ac:name="smile" /> by <time datetime="2026-02-03" /></p>'
        "<ac:task-list><ac:task><ac:task-id>1</ac:task-id><ac:task-status>incomplete</ac:task-status>"
        "<ac:task-body>Rotate the keys</ac:task-body></ac:task></ac:task-list>"
    )


def _error(status: int, code: str, title: str) -> JSONResponse:
    return JSONResponse({"errors": [{"status": status, "code": code, "title": title, "detail": None}]}, status)


def _cursor(after: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"id": after, "contentOrder": "id"}).encode()).decode()


def _after(cursor: str) -> int:
    return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["id"])


def _number(entry: dict[str, Any]) -> int:
    return int(str(entry["id"]).removeprefix("att"))


@dataclass
class FakeConfluence:
    base_url: str = ""  # where it is served, set by whoever serves it
    token_lifetime: int = 3600
    spaces: dict[str, FakeSpace] = field(default_factory=dict)
    pages: dict[str, FakePage] = field(default_factory=dict)
    attachments: dict[str, FakeAttachment] = field(default_factory=dict)
    comments: dict[str, FakeComment] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    api_token: str = API_TOKEN
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (epoch seconds)
    refresh_tokens: set[str] = field(default_factory=set)
    _codes: dict[str, str] = field(default_factory=dict)  # code -> redirect URI
    _limited: int = 0
    _retry_after: int = 1
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(10_001))
    _media_key: bytes = field(default_factory=lambda: secrets.token_bytes(16))

    def reset(self) -> None:
        for held in (self.spaces, self.pages, self.attachments, self.comments, self.access_tokens, self._codes):
            held.clear()
        self.calls.clear()
        self.refresh_tokens.clear()
        self.api_token, self.token_lifetime, self._limited = API_TOKEN, 3600, 0

    # --- State tests change ---------------------------------------------------------------------------------------
    def _next_id(self) -> str:
        return str(next(self._ids))

    def add_space(self, key: str, name: str | None = None) -> FakeSpace:
        space = FakeSpace(self._next_id(), key, name or f"Space {key}")
        self.spaces[space.id] = space
        return space

    def add_page(self, space: FakeSpace, title: str, storage: str | None = None, **fields: Any) -> FakePage:
        page = FakePage(self._next_id(), space.id, title, storage if storage is not None else sample_storage(title))
        for name, value in fields.items():
            setattr(page, name, value)
        self.pages[page.id] = page
        return page

    def seed(self, count: int, space: FakeSpace) -> list[FakePage]:
        """`count` small pages in `space`, quickly (no per-page work beyond a string)."""
        made = []
        for number in range(count):
            page = FakePage(self._next_id(), space.id, f"Page {number}", f"<p>Generated page {number}.</p>")
            self.pages[page.id] = page
            made.append(page)
        return made

    def edit_page(self, page_id: str, *, title: str | None = None, storage: str | None = None) -> None:
        page = self.pages[page_id]
        page.title, page.storage = title or page.title, storage if storage is not None else page.storage
        page.version += 1
        page.edited_at = f"2026-01-{min(page.version + 5, 28):02d}T10:00:00.000Z"

    def add_attachment(self, page: FakePage, title: str, data: bytes, media_type: str) -> FakeAttachment:
        attachment = FakeAttachment(f"att{self._next_id()}", page.id, title, media_type, data)
        self.attachments[attachment.id] = attachment
        return attachment

    def edit_attachment(self, attachment_id: str, data: bytes) -> None:
        attachment = self.attachments[attachment_id]
        attachment.data, attachment.version = data, attachment.version + 1

    def add_comment(self, page: FakePage, storage: str) -> FakeComment:
        comment = FakeComment(self._next_id(), "pageId", page.id, storage)
        self.comments[comment.id] = comment
        return comment

    def rate_limit_next(self, count: int, retry_after: int = 1) -> None:
        self._limited, self._retry_after = count, retry_after

    def revoke(self) -> None:
        """The API token and every OAuth token stop working."""
        self.api_token = ""
        self.access_tokens.clear()
        self.refresh_tokens.clear()

    def expire_tokens(self) -> None:
        for token in self.access_tokens:
            self.access_tokens[token] = 0.0

    def issue_tokens(self) -> tuple[str, str]:
        """An access and a refresh token, as a finished authorization would hand out."""
        access, refresh = f"fake-access-{secrets.token_urlsafe(16)}", f"fake-refresh-{secrets.token_urlsafe(16)}"
        self.access_tokens[access] = time.time() + self.token_lifetime
        self.refresh_tokens.add(refresh)
        return access, refresh

    def calls_to(self, suffix: str) -> list[Call]:
        return [call for call in self.calls if call.path.endswith(suffix)]

    # --- The server -----------------------------------------------------------------------------------------------
    def app(self) -> Starlette:
        api = [
            Route("/wiki/api/v2/spaces", self._guarded(self.list_spaces)),
            Route("/wiki/api/v2/spaces/{id}/pages", self._guarded(self.list_pages)),
            Route("/wiki/api/v2/pages", self._guarded(self.list_pages)),
            Route("/wiki/api/v2/pages/{id}", self._guarded(self.get_page)),
            Route("/wiki/api/v2/pages/{id}/footer-comments", self._guarded(self.list_comments)),
            Route("/wiki/api/v2/attachments", self._guarded(self.list_attachments)),
            Route("/wiki/api/v2/attachments/{id}", self._guarded(self.get_attachment)),
            Route("/wiki/api/v2/attachments/{id}/footer-comments", self._guarded(self.list_comments)),
            Route("/wiki/api/v2/footer-comments", self._guarded(self.create_comment), methods=["POST"]),
            Route("/wiki/rest/api/content/{page}/child/attachment/{id}/download", self._guarded(self.download)),
            Route("/wiki/download/attachments/{page}/{name}", self._guarded(self.legacy_download)),
        ]
        return Starlette(
            routes=[
                *api,
                Mount("/ex/confluence/{cloud_id}", routes=api),
                Route("/media/file/{file_id}/binary", self.media),
                Route("/authorize", self.authorize),
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/oauth/token/accessible-resources", self.accessible_resources),
            ]
        )

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: Request) -> Response:
            self.calls.append(Call(request.method, request.url.path, dict(request.query_params)))
            if self._limited > 0:
                self._limited -= 1
                headers = {"Retry-After": str(self._retry_after)}
                return JSONResponse({"message": "Rate limit exceeded."}, 429, headers=headers)
            cloud_id = request.path_params.get("cloud_id")
            if cloud_id is not None and cloud_id != CLOUD_ID:
                return _error(404, "NOT_FOUND", "No Confluence site with this cloud id.")
            if not self._authorized(request.headers.get("authorization", ""), gateway=cloud_id is not None):
                return JSONResponse({"code": 401, "message": "Unauthorized; scope does not match"}, 401)
            return await handler(request)

        return guarded

    def _authorized(self, header: str, *, gateway: bool) -> bool:
        if gateway:  # OAuth tokens reach the site through the gateway only
            scheme, _, token = header.partition(" ")
            return scheme == "Bearer" and self.access_tokens.get(token, 0.0) > time.time()
        expected = "Basic " + base64.b64encode(f"{EMAIL}:{self.api_token}".encode()).decode()
        return bool(self.api_token) and hmac.compare_digest(header.encode(), expected.encode())

    def _listing(
        self,
        request: Request,
        entries: list[dict[str, Any]],
        default_limit: int,
        order: Callable[[dict[str, Any]], int] = _number,
    ) -> Response:
        """One page of `entries` after the request's cursor (which holds the last entry's `order`), with v2's
        links."""
        try:
            limit = int(request.query_params.get("limit", default_limit))
            cursor = request.query_params.get("cursor")
            after = _after(cursor) if cursor else -(10**18)
        except (ValueError, KeyError, binascii.Error):
            return _error(400, "INVALID_REQUEST_PARAMETER", "Invalid cursor or limit.")
        if not 1 <= limit <= 250:
            return _error(400, "INVALID_REQUEST_PARAMETER", "limit must be between 1 and 250.")
        remaining = sorted((entry for entry in entries if order(entry) > after), key=order)
        chunk = remaining[:limit]
        base = f"{request.url.scheme}://{request.url.netloc}/wiki"
        body: dict[str, Any] = {"results": chunk, "_links": {"base": base}}
        headers = {}
        if len(remaining) > limit:
            query = {**request.query_params, "cursor": _cursor(order(chunk[-1]))}
            path = "/wiki/" + request.url.path.split("/wiki/", 1)[1]
            body["_links"]["next"] = f"{path}?{urlencode(query)}"
            headers["Link"] = f'<{body["_links"]["next"]}>; rel="next", <{base}>; rel="base"'
        return JSONResponse(body, headers=headers)

    async def list_spaces(self, request: Request) -> Response:
        keys = {key for key in request.query_params.get("keys", "").split(",") if key}
        ids = {space_id for space_id in request.query_params.get("ids", "").split(",") if space_id}
        spaces = sorted(self.spaces.values(), key=lambda space: int(space.id))
        chosen = [space for space in spaces if (not keys or space.key in keys) and (not ids or space.id in ids)]
        entries: list[dict[str, Any]] = [
            {"id": space.id, "key": space.key, "name": space.name, "type": "global", "status": "current"}
            | {"authorId": AUTHOR_ID, "_links": {"webui": f"/spaces/{space.key}"}}
            for space in chosen
        ]
        return self._listing(request, entries, 25)

    async def list_pages(self, request: Request) -> Response:
        in_spaces = {request.path_params["id"]} if "id" in request.path_params else set()
        in_spaces |= {space_id for space_id in request.query_params.get("space-id", "").split(",") if space_id}
        statuses = set(request.query_params.get("status", "current,archived").split(","))
        with_body = request.query_params.get("body-format") == "storage"
        entries = [
            self._page_json(page, with_body=with_body)
            for page in sorted(self.pages.values(), key=lambda page: int(page.id))
            if page.status in statuses and (not in_spaces or page.space_id in in_spaces)
        ]
        return self._listing(request, entries, 25)

    async def get_page(self, request: Request) -> Response:
        page = self.pages.get(request.path_params["id"])
        if page is None:
            return _error(404, "NOT_FOUND", "Page not found.")
        answer = self._page_json(page, with_body=request.query_params.get("body-format") == "storage")
        if request.query_params.get("include-labels") == "true":
            results = [{"id": str(1000 + n), "name": name, "prefix": "global"} for n, name in enumerate(page.labels)]
            answer["labels"] = {"results": results, "meta": {"hasMore": False, "cursor": ""}, "_links": {}}
        return JSONResponse(answer)

    def _page_json(self, page: FakePage, *, with_body: bool) -> dict[str, Any]:
        key = self.spaces[page.space_id].key if page.space_id in self.spaces else "?"
        return {
            "id": page.id,
            "status": page.status,
            "title": page.title,
            "spaceId": page.space_id,
            "parentId": None,
            "parentType": None,
            "authorId": AUTHOR_ID,
            "ownerId": AUTHOR_ID,
            "createdAt": "2026-01-01T09:00:00.000Z",
            "version": {"createdAt": page.edited_at, "message": "", "number": page.version, "minorEdit": False}
            | {"authorId": AUTHOR_ID},
            "body": {"storage": {"representation": "storage", "value": page.storage}} if with_body else {},
            "_links": {"webui": f"/spaces/{key}/pages/{page.id}/{quote(page.title)}", "tinyui": f"/x/{page.id}"},
        }

    async def list_attachments(self, request: Request) -> Response:
        media_type = request.query_params.get("mediaType")
        entries = [
            self._attachment_json(attachment)
            for attachment in sorted(self.attachments.values(), key=lambda item: int(item.id.removeprefix("att")))
            if (media_type is None or attachment.media_type == media_type) and attachment.page_id in self.pages
        ]
        return self._listing(request, entries, 50)

    async def get_attachment(self, request: Request) -> Response:
        attachment = self.attachments.get(request.path_params["id"])
        if attachment is None or attachment.page_id not in self.pages:
            return _error(404, "NOT_FOUND", "Attachment not found.")
        return JSONResponse(self._attachment_json(attachment))

    def _attachment_json(self, attachment: FakeAttachment) -> dict[str, Any]:
        name = quote(attachment.title)
        legacy = f"/download/attachments/{attachment.page_id}/{name}?version={attachment.version}&api=v2"
        webui = f"/pages/viewpageattachments.action?pageId={attachment.page_id}&preview={name}"
        return {
            "id": attachment.id,
            "status": "current",
            "title": attachment.title,
            "createdAt": "2026-01-02T09:00:00.000Z",
            "pageId": attachment.page_id,
            "mediaType": attachment.media_type,
            "fileId": attachment.file_id,
            "fileSize": len(attachment.data),
            "webuiLink": webui,
            "downloadLink": legacy,
            "version": {"createdAt": "2026-01-02T09:00:00.000Z", "number": attachment.version, "authorId": AUTHOR_ID},
            "_links": {"webui": webui, "download": legacy},
        }

    async def download(self, request: Request) -> Response:
        attachment = self.attachments.get(request.path_params["id"])
        if attachment is None or attachment.page_id != request.path_params["page"]:
            return _error(404, "NOT_FOUND", "Attachment not found.")
        signature = hmac.new(self._media_key, attachment.file_id.encode(), "sha256").hexdigest()
        query = urlencode({"token": signature, "client": CLIENT_ID, "name": attachment.title, "dl": "true"})
        return RedirectResponse(
            f"{request.url.scheme}://{request.url.netloc}/media/file/{attachment.file_id}/binary?{query}", 302
        )

    async def legacy_download(self, request: Request) -> Response:
        return Response(status_code=401, headers={"WWW-Authenticate": 'OAuth realm="fake"'})

    async def media(self, request: Request) -> Response:
        self.calls.append(Call(request.method, request.url.path, dict(request.query_params)))
        if request.headers.get("authorization"):  # a signed URL; credentials sent along are refused
            return JSONResponse({"error": "Credentials are not accepted here."}, 401)
        file_id = request.path_params["file_id"]
        signature = hmac.new(self._media_key, file_id.encode(), "sha256").hexdigest()
        found = [attachment for attachment in self.attachments.values() if attachment.file_id == file_id]
        if not found or not hmac.compare_digest(request.query_params.get("token", ""), signature):
            return JSONResponse({"error": "Invalid token."}, 403)
        return Response(found[0].data, media_type=found[0].media_type)

    async def list_comments(self, request: Request) -> Response:
        container = "attachmentId" if "/attachments/" in request.url.path else "pageId"
        found = self.pages if container == "pageId" else self.attachments
        if request.path_params["id"] not in found:
            return _error(404, "NOT_FOUND", "Content not found.")
        comments = [
            self._comment_json(comment, with_body=request.query_params.get("body-format") == "storage")
            for comment in self.comments.values()
            if comment.container == container and comment.container_id == request.path_params["id"]
        ]
        newest_first = request.query_params.get("sort") == "-created-date"
        return self._listing(request, comments, 25, order=(lambda entry: -_number(entry)) if newest_first else _number)

    def _comment_json(self, comment: FakeComment, *, with_body: bool) -> dict[str, Any]:
        page = self.pages.get(comment.container_id)
        key = self.spaces[page.space_id].key if page and page.space_id in self.spaces else "?"
        return {
            "id": comment.id,
            "status": "current",
            "title": "Re: comment",
            comment.container: comment.container_id,
            "version": {"number": 1, "authorId": AUTHOR_ID, "createdAt": "2026-01-03T09:00:00.000Z"},
            "body": {"storage": {"representation": "storage", "value": comment.storage}} if with_body else {},
            "_links": {"webui": f"/spaces/{key}/pages/{comment.container_id}?focusedCommentId={comment.id}"},
        }

    async def create_comment(self, request: Request) -> Response:
        try:
            payload = await request.json()
            body = payload["body"]
            storage = body["value"] if body.get("representation") == "storage" else body["storage"]["value"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "INVALID_REQUEST_PARAMETER", "A body in storage representation is required.")
        containers = [(name, payload.get(name)) for name in ("pageId", "attachmentId") if payload.get(name)]
        if len(containers) != 1:
            return _error(400, "INVALID_REQUEST_PARAMETER", "Exactly one container id is required.")
        container, container_id = containers[0]
        if container_id not in (self.pages if container == "pageId" else self.attachments):
            return _error(404, "NOT_FOUND", "Content not found.")
        if not _well_formed(storage):
            return _error(400, "INVALID_REQUEST_PARAMETER", "Error parsing xhtml.")
        comment = FakeComment(self._next_id(), container, str(container_id), _without_comments(storage))
        self.comments[comment.id] = comment
        location = f"/wiki/api/v2/footer-comments/{comment.id}"
        return JSONResponse(self._comment_json(comment, with_body=True), 201, headers={"Location": location})

    # --- Atlassian's authorization server -------------------------------------------------------------------------
    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return JSONResponse({"error": "unauthorized_client"}, 400)
        if query.get("audience") != "api.atlassian.com" or not query.get("redirect_uri"):
            return JSONResponse({"error": "invalid_request"}, 400)
        code = f"fake-code-{secrets.token_urlsafe(16)}"
        self._codes[code] = query["redirect_uri"]
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}")

    async def token(self, request: Request) -> Response:
        try:
            form = await request.json()
        except ValueError:
            return JSONResponse({"error": "invalid_request", "error_description": "JSON body expected."}, 400)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return JSONResponse({"error": "access_denied", "error_description": "Unauthorized"}, 401)
        if form.get("grant_type") == "authorization_code":
            redirect_uri = self._codes.pop(str(form.get("code")), None)
            if redirect_uri is None or redirect_uri != form.get("redirect_uri"):
                return JSONResponse({"error": "invalid_grant", "error_description": "Invalid authorization code"}, 403)
        elif form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}, 403
                )
            self.refresh_tokens.discard(form["refresh_token"])  # rotating: each is good once
        else:
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        access, refresh = self.issue_tokens()
        scope = "read:page:confluence read:space:confluence read:attachment:confluence offline_access"
        answer = {"access_token": access, "refresh_token": refresh, "expires_in": self.token_lifetime}
        return JSONResponse(answer | {"scope": scope, "token_type": "Bearer"})

    async def accessible_resources(self, request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or self.access_tokens.get(token, 0.0) <= time.time():
            return JSONResponse({"code": 401, "message": "Unauthorized"}, 401)
        site = f"{request.url.scheme}://{request.url.netloc}"
        return JSONResponse([{"id": CLOUD_ID, "url": site, "name": SITE_NAME, "scopes": [], "avatarUrl": ""}])


def _well_formed(storage: str) -> bool:
    for entity, number in _ENTITIES.items():
        storage = storage.replace(entity, number)
    try:
        ElementTree.fromstring(f"{_NAMESPACES}{storage}</r>")  # noqa: S314 -- the code under test's own output
    except ElementTree.ParseError:
        return False
    return True


def _without_comments(storage: str) -> str:
    parts, position = [], 0
    while (start := storage.find("<!--", position)) != -1 and (end := storage.find("-->", start)) != -1:
        parts.append(storage[position:start])
        position = end + 3
    return "".join(parts) + storage[position:]


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="A fake Confluence Cloud site for trying Folio by hand.")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--items", type=int, default=50, help="generated pages in space DEMO")
    arguments = parser.parse_args()
    fake = FakeConfluence()
    demo = fake.add_space("DEMO", "Demo space")
    fake.add_page(demo, "Welcome to the fake Confluence")
    fake.seed(arguments.items, demo)
    base_url = f"http://127.0.0.1:{arguments.port}"
    print(f"Confluence site: {base_url} (OAuth gateway: {base_url}/ex/confluence/{CLOUD_ID})")  # noqa: T201
    print(f"email: {EMAIL}\napi_token: {API_TOKEN}")  # noqa: T201
    print(f"OAuth client_id: {CLIENT_ID}\nOAuth client_secret: {CLIENT_SECRET}")  # noqa: T201
    uvicorn.run(fake.app(), host="127.0.0.1", port=arguments.port)


if __name__ == "__main__":
    main()
