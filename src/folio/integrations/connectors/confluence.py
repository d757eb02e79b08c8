"""Confluence Cloud through its REST API v2: the pages of the configured spaces (of every space the account sees
when none is named) as HTML documents, and their PDF, Word, HTML, Markdown and text attachments as files of their own.

The listing reads no body. Pages come from `GET /pages` (250 a request, the configured spaces in one `space-id`
filter, so a site of many small spaces costs no request per space); attachments from `GET /attachments`, once per
media type the ingestion reads (250 a request: the site's images, most of its attachments, are never listed; v2 has
no per-space attachment listing, and one per page would cost a request per page), kept when they hang on a listed
page. A page's marker is its version number; an attachment's is its own.

URLs are built on `base_url` (the site for an API token, `https://api.atlassian.com/ex/confluence/<cloud id>` for
OAuth); the `next` links the API answers are relative to the site's root and are followed on that same base. Files
are downloaded through the v1 REST download (the v2 `downloadLink`, `/wiki/download/attachments/...`, refuses API
tokens since Atlassian's CHANGE-2735), which redirects to a signed media URL that gets no credentials.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from pathlib import PurePosixPath
from typing import Annotated, Any
from urllib.parse import urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from folio.integrations.connector import Content, Item, Published
from folio.integrations.connectors._confluence_storage import comment_storage, html_document
from folio.integrations.connectors._json import iso_time, mapping
from folio.integrations.errors import ItemGone, SourceRefused, SourceUnavailable
from folio.integrations.http import HeaderSecret, SourceHttp

_API = "/wiki/api/v2"
_PAGE_SIZE = 250
_ATTACHMENT = "attachment:"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 3
# https, or plain http to this machine only (a local stand-in, which the outbound guard refuses in production).
_SITE_URL = re.compile(
    r"(https://[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+|http://(localhost|127\.0\.0\.1))"
    r"(:[0-9]{1,5})?"
)
_PAGE_ID = re.compile(r"[0-9]{1,30}")
_ATTACHMENT_ID = re.compile(r"[A-Za-z0-9]{1,60}")
_MARKER = re.compile(r"[A-Za-z0-9._:-]{1,200}")
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
# The media types whose attachments are listed, and the kind each is read as. For the generic ones the file's
# extension decides (Markdown is often stored as plain text or bytes); octet-stream without a known extension is
# left out.
_MEDIA_SUFFIXES: dict[str, str | None] = {
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/html": ".html",
    "text/markdown": ".md",
    "text/plain": ".txt",
    "application/octet-stream": None,
}
_GENERIC_MEDIA = frozenset({"text/plain", "application/octet-stream"})
_EXTENSIONS = {".pdf": ".pdf", ".docx": ".docx", ".html": ".html", ".htm": ".html", ".md": ".md", ".txt": ".txt"}
_EXTENSIONS[".markdown"] = ".md"

SpaceKey = Annotated[str, StringConstraints(pattern=r"^~?[A-Za-z0-9_:-]{1,255}$")]


class ConfluenceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = Field(
        description="The Confluence Cloud site, `https://<name>.atlassian.net` (https, no path; a trailing `/wiki` "
        "is dropped; plain http only to localhost, for a stand-in). Links to pages are made on it."
    )
    space_keys: list[SpaceKey] = Field(
        default_factory=list,
        max_length=100,
        description="Keys of the spaces to sync (`ENG`, `~accountid` for a personal space); empty: every space the "
        "account can see.",
    )
    include_attachments: bool = Field(
        True, description="Also sync the pages' PDF, Word, HTML, Markdown and text attachments, each as a document."
    )

    @field_validator("site_url")
    @classmethod
    def _site(cls, value: str) -> str:
        site = value.rstrip("/").removesuffix("/wiki").rstrip("/").lower()
        if not _SITE_URL.fullmatch(site):
            raise ValueError("must be the site's https URL without a path, like https://acme.atlassian.net")
        return site

    @field_validator("space_keys")
    @classmethod
    def _distinct(cls, keys: list[str]) -> list[str]:
        return list(dict.fromkeys(keys))


class ConfluenceCredentials(BaseModel):
    """An Atlassian account's email address and one of its API tokens, sent with HTTP Basic; the API needs no
    other fixed header."""

    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s:]+@[^@\s]+$")]
    api_token: Annotated[HeaderSecret, Field(min_length=1, max_length=2000)]

    def headers(self) -> dict[str, str]:
        pair = f"{self.email}:{self.api_token.get_secret_value()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


class ConfluenceConnector:
    def __init__(self, config: ConfluenceConfig, http: SourceHttp, base_url: str, *, max_items: int) -> None:
        self.config = config
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.max_items = max_items
        # Where people open things; the API's own `_links.base` replaces it when an answer carries one.
        self._web_base = f"{config.site_url}/wiki"
        self._space_keys: dict[str, str] = {}

    async def check(self) -> str:
        answer = await self.http.json(
            "GET", f"{self.base_url}{_API}/spaces", what="the space listing", params={"limit": 1}
        )
        self._learn_base(mapping(mapping(answer).get("_links")).get("base"))
        return f"Confluence site {urlsplit(self._web_base).hostname}"

    async def listing(self, known: Mapping[str, str]) -> AsyncIterator[Item]:
        if self.max_items <= 0:
            return
        listed = 0
        page_ids: set[str] = set()
        async with aclosing(self._pages()) as pages:
            async for page in pages:
                item = self._page_item(page)
                if item is None:
                    continue
                page_ids.add(item.external_id)
                yield item
                listed += 1
                if listed >= self.max_items:
                    return
        if not self.config.include_attachments or not page_ids:
            return
        for media_type in _MEDIA_SUFFIXES:
            params = {"mediaType": media_type, "status": "current", "limit": _PAGE_SIZE}
            attachments = self._results(f"{_API}/attachments", what="the attachment listing", params=params)
            async with aclosing(attachments):
                async for attachment in attachments:
                    attachment_item = self._attachment_item(attachment, page_ids)
                    if attachment_item is None:
                        continue
                    yield attachment_item
                    listed += 1
                    if listed >= self.max_items:
                        return

    async def fetch(self, item: Item) -> Content:
        if item.external_id.startswith(_ATTACHMENT):
            return await self._fetch_attachment(item.external_id.removeprefix(_ATTACHMENT))
        return await self._fetch_page(item.external_id)

    async def publish(self, target_id: str, *, title: str, markdown: str, marker: str) -> Published:
        """A footer comment on the page (or attachment) `target_id`, found again on a retry by the visible
        `folio:<marker>` line it ends with (Confluence strips HTML comments and unknown attributes)."""
        if not _MARKER.fullmatch(marker):
            raise ValueError("The marker must be 1-200 letters, digits, '.', '_', ':' or '-'.")
        field, container_id, comments = _comment_target(target_id)
        stamp = re.compile(rf"folio:{re.escape(marker)}(?![A-Za-z0-9._:-])")
        params = {"body-format": "storage", "sort": "-created-date", "limit": _PAGE_SIZE}
        async with aclosing(self._results(comments, what="the footer comment listing", params=params)) as listed:
            async for comment in listed:
                if stamp.search(_storage_of(comment)):
                    return self._published(comment, container_id)
        body = {"representation": "storage", "value": comment_storage(title, markdown, f"folio:{marker}")}
        created = await self.http.json(
            "POST",
            f"{self.base_url}{_API}/footer-comments",
            what="the new footer comment",
            json={field: container_id, "body": body},
        )
        return self._published(created if isinstance(created, dict) else {}, container_id)

    async def _pages(self) -> AsyncGenerator[dict[str, Any]]:
        params: dict[str, Any] = {"status": "current", "limit": _PAGE_SIZE}
        if self.config.space_keys:
            space_ids = []
            spaces = {"keys": ",".join(self.config.space_keys), "limit": _PAGE_SIZE}
            async for space in self._results(f"{_API}/spaces", what="the space listing", params=spaces):
                space_ids.append(str(space.get("id")))
                self._space_keys[space_ids[-1]] = _clip(space.get("key"), 255)
            if not space_ids:
                return
            params["space-id"] = ",".join(space_ids)
        async for page in self._results(f"{_API}/pages", what="the page listing", params=params):
            yield page

    async def _results(self, path: str, *, what: str, params: Mapping[str, Any]) -> AsyncGenerator[dict[str, Any]]:
        """The entries of a cursor-paginated listing, following its `next` links to the end."""
        url: str = f"{self.base_url}{path}"
        # A next link carries the whole query, which httpx would replace with even an empty `params`.
        query: Mapping[str, Any] | None = params
        while True:
            response = await self.http.request("GET", url, what=what, params=query)
            try:
                answer = response.json()
            except ValueError as exc:
                raise SourceUnavailable(f"The source's answer to {what} is not JSON.") from exc
            if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
                raise SourceUnavailable(f"The source's answer to {what} has no results.")
            links = mapping(answer.get("_links"))
            self._learn_base(links.get("base"))
            for entry in answer["results"]:
                if isinstance(entry, dict):
                    yield entry
            following = links.get("next") or _link_next(response.headers.get("link", ""))
            if not following:
                return
            url, query = self._follow(str(following), what), None

    def _follow(self, link: str, what: str) -> str:
        # A listing cut short would read as deletions, so a link elsewhere fails the listing instead of ending it.
        if link.startswith("/wiki/") and not link.startswith("//"):
            return f"{self.base_url}{link}"
        if link.startswith(f"{self.base_url}/wiki/"):
            return link
        raise SourceUnavailable(f"The source's next link for {what} leaves its API.")

    def _learn_base(self, base: object) -> None:
        if isinstance(base, str) and urlsplit(base).scheme in {"http", "https"} and len(base) <= 300:
            self._web_base = base.rstrip("/")

    def _web_url(self, path: object) -> str | None:
        return f"{self._web_base}{path}" if isinstance(path, str) and path.startswith("/") else None

    def _page_item(self, page: Mapping[str, Any]) -> Item | None:
        page_id = str(page.get("id", ""))
        if not _PAGE_ID.fullmatch(page_id):
            return None
        version = mapping(page.get("version"))
        return Item(
            external_id=page_id,
            title=_clip(page.get("title"), 500) or "Untitled page",
            version=str(version.get("number", 0))[:200],
            url=self._web_url(mapping(page.get("_links")).get("webui")),
            updated_at=iso_time(version.get("createdAt")),
        )

    def _attachment_item(self, attachment: Mapping[str, Any], page_ids: set[str]) -> Item | None:
        attachment_id = str(attachment.get("id", ""))
        title = _clip(attachment.get("title"), 500)
        if (
            not _ATTACHMENT_ID.fullmatch(attachment_id)
            or str(attachment.get("pageId")) not in page_ids
            or _attachment_suffix(title, attachment.get("mediaType")) is None
        ):
            return None
        version = mapping(attachment.get("version"))
        links = mapping(attachment.get("_links"))
        return Item(
            external_id=f"{_ATTACHMENT}{attachment_id}",
            title=title or attachment_id,
            version=str(version.get("number", 0))[:200],
            url=self._web_url(links.get("webui") or attachment.get("webuiLink")),
            updated_at=iso_time(version.get("createdAt")),
        )

    async def _fetch_page(self, page_id: str) -> Content:
        if not _PAGE_ID.fullmatch(page_id):
            raise ItemGone(f"{page_id!r} is not a Confluence page id.")
        params = {"body-format": "storage", "include-labels": "true"}
        page = await self._item_json(f"{_API}/pages/{page_id}", what="a page", params=params)
        if page.get("status") != "current":
            raise ItemGone(f"Page {page_id} is no longer current.")
        title = _clip(page.get("title"), 500) or "Untitled page"
        version = mapping(page.get("version"))
        labels = mapping(page.get("labels")).get("results")
        metadata = {
            "space_id": _clip(page.get("spaceId"), 100),
            "space_key": await self._space_key(page.get("spaceId")),
            "author_id": _clip(page.get("authorId"), 200),
            "version": version.get("number"),
            "status": "current",
            "labels": [_clip(mapping(label).get("name"), 100) for label in labels[:20]]
            if isinstance(labels, list)
            else None,
        }
        document = html_document(title, _storage_of(page))
        return Content(document.encode(), _filename(title, ".html"), _present(metadata))

    async def _fetch_attachment(self, attachment_id: str) -> Content:
        if not _ATTACHMENT_ID.fullmatch(attachment_id):
            raise ItemGone(f"{attachment_id!r} is not a Confluence attachment id.")
        attachment = await self._item_json(f"{_API}/attachments/{attachment_id}", what="an attachment", params={})
        page_id = str(attachment.get("pageId", ""))
        title = _clip(attachment.get("title"), 500) or attachment_id
        suffix = _attachment_suffix(title, attachment.get("mediaType"))
        if attachment.get("status") != "current" or not _PAGE_ID.fullmatch(page_id) or suffix is None:
            raise ItemGone(f"Attachment {attachment_id} is no longer a current file of a page.")
        body = await self._download(f"/wiki/rest/api/content/{page_id}/child/attachment/{attachment_id}/download")
        version = mapping(attachment.get("version"))
        metadata = {
            "page_id": page_id,
            "media_type": _clip(attachment.get("mediaType"), 100),
            "version": version.get("number"),
            "author_id": _clip(version.get("authorId"), 200),
            "file_size": attachment.get("fileSize") if isinstance(attachment.get("fileSize"), int) else None,
        }
        return Content(body, _filename(title, suffix), _present(metadata))

    async def _item_json(self, path: str, *, what: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            answer = await self.http.json("GET", f"{self.base_url}{path}", what=what, params=params)
        except SourceRefused as exc:
            if exc.status in (404, 410):
                raise ItemGone(f"{what} went away at the source.") from exc
            raise
        return answer if isinstance(answer, dict) else {}

    async def _download(self, path: str) -> bytes:
        url, credentials = f"{self.base_url}{path}", True
        for _ in range(_MAX_REDIRECTS + 1):
            try:
                response = await self.http.request(
                    "GET", url, what="an attachment's file", credentials=credentials, accept=_REDIRECTS
                )
            except SourceRefused as exc:
                if exc.status in (404, 410):
                    raise ItemGone("The attachment's file went away at the source.") from exc
                raise
            if response.status_code not in _REDIRECTS:
                return response.content
            # The download redirects to a signed media URL, which carries its own token and refuses credentials:
            # they stay with the site.
            url, credentials = urljoin(url, response.headers.get("location", "")), False
        raise SourceUnavailable("The source redirected an attachment's download too many times.")

    async def _space_key(self, space_id: object) -> str | None:
        if not isinstance(space_id, str | int) or not _PAGE_ID.fullmatch(str(space_id)):
            return None
        if str(space_id) not in self._space_keys:
            params = {"ids": str(space_id), "limit": 1}
            async for space in self._results(f"{_API}/spaces", what="the page's space", params=params):
                self._space_keys[str(space_id)] = _clip(space.get("key"), 255)
        return self._space_keys.get(str(space_id))

    def _published(self, comment: Mapping[str, Any], container_id: str) -> Published:
        url = self._web_url(mapping(comment.get("_links")).get("webui"))
        if url is None and _PAGE_ID.fullmatch(container_id):
            url = f"{self._web_base}/pages/viewpage.action?pageId={container_id}"
        return Published(remote_id=str(comment.get("id", "")), url=url)


def _comment_target(target_id: str) -> tuple[str, str, str]:
    """The body field naming the comment's container, its id, and the listing of its footer comments."""
    if target_id.startswith(_ATTACHMENT) and _ATTACHMENT_ID.fullmatch(attachment := target_id[len(_ATTACHMENT) :]):
        return "attachmentId", attachment, f"{_API}/attachments/{attachment}/footer-comments"
    if _PAGE_ID.fullmatch(target_id):
        return "pageId", target_id, f"{_API}/pages/{target_id}/footer-comments"
    raise ValueError(f"{target_id[:100]!r} is neither a Confluence page nor an attachment.")


def _link_next(header: str) -> str | None:
    found = _LINK_NEXT.search(header)
    return found.group(1) if found else None


def _clip(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _present(metadata: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in metadata.items() if value not in (None, "")}


def _storage_of(entity: Mapping[str, Any]) -> str:
    value = mapping(mapping(entity.get("body")).get("storage")).get("value")
    return value if isinstance(value, str) else ""


def _attachment_suffix(title: str, media_type: object) -> str | None:
    """The kind an attachment is read as: its media type's, or for a generic type its extension's."""
    media = media_type.split(";")[0].strip().lower() if isinstance(media_type, str) else ""
    by_name = _EXTENSIONS.get(PurePosixPath(title).suffix.lower())
    if media in _GENERIC_MEDIA:
        return by_name or _MEDIA_SUFFIXES[media]
    return _MEDIA_SUFFIXES.get(media)


def _filename(title: str, suffix: str) -> str:
    stem = re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|]+', "_", title).strip(" .")[:150] or "untitled"
    return stem if stem.lower().endswith(suffix) else f"{stem}{suffix}"
