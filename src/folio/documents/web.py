"""A web page (or a PDF, DOCX, Markdown or text file on the web) fetched into storage, as an upload would be stored.

Every connection goes through the outbound guard (`folio.outbound`): the host is resolved and every address checked
when connecting, redirects are followed here (at most `MAX_REDIRECTS`), each one checked again, and the body is
capped at the upload limit. The file's kind is the one its `Content-Type` names (else its URL's extension); the
upload path then checks that its first bytes agree, as it does for an upload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

import anyio
import httpx2

from folio.documents.errors import FileTooLarge, UnsupportedFileType, UrlFetchFailed
from folio.documents.filenames import display_name
from folio.documents.filetypes import media_type_of
from folio.documents.storage import Storage, StoredFile
from folio.outbound import OutboundPolicy, OutboundRefused, OutboundURLForbidden, ResponseRefused, guarded_client

MAX_REDIRECTS = 5
# The whole fetch, however slowly the server sends (each read alone waits at most the outbound timeout).
FETCH_SECONDS = 300.0
# robots.txt rules for FolioBot are the ones the web source obeys (RFC 9309: the product token names the crawler).
USER_AGENT = "FolioBot/1.0 (+document import)"
# The extension the upload path expects for each content type it can read.
EXTENSIONS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/markdown": "md",
    "text/x-markdown": "md",
    "text/plain": "txt",
}
ACCEPT = ", ".join([*EXTENSIONS, "*/*;q=0.1"])
# A type that says nothing about the content: the URL's extension decides (a crawl also looks at the first bytes).
UNSAID = frozenset({"", "application/octet-stream", "binary/octet-stream"})


@dataclass(frozen=True, slots=True)
class Fetched:
    stored: StoredFile
    filename: str
    url: str
    last_modified: datetime | None


async def fetch(url: str, *, policy: OutboundPolicy, storage: Storage, max_bytes: int) -> Fetched:
    """The resource at `url` in storage (its key is the caller's to keep or delete)."""
    _check(policy, url)
    try:
        with anyio.fail_after(FETCH_SECONDS):
            return await _fetch(url, policy=policy, storage=storage, max_bytes=max_bytes)
    except TimeoutError as exc:
        raise UrlFetchFailed("The server did not answer in time.", details={"reason": "timeout"}) from exc


async def _fetch(url: str, *, policy: OutboundPolicy, storage: Storage, max_bytes: int) -> Fetched:
    try:
        async with guarded_client(policy) as http:
            for _ in range(MAX_REDIRECTS + 1):
                request = http.build_request("GET", url, headers={"Accept": ACCEPT, "User-Agent": USER_AGENT})
                response = await http.send(request, stream=True)
                try:
                    if response.is_redirect:
                        url = _redirected(policy, url, response.headers.get("location", ""))
                        continue
                    if response.status_code != 200:
                        raise UrlFetchFailed(
                            f"The server answered {response.status_code}.", details={"status": response.status_code}
                        )
                    filename = _filename(url, response.headers.get("content-type", ""))
                    stored = await _store(response, storage, max_bytes, filename)
                    return Fetched(stored, filename, url, last_modified(response.headers.get("last-modified")))
                finally:
                    await response.aclose()
    except OutboundRefused as exc:
        raise OutboundURLForbidden(details={"host": exc.host, "reason": exc.reason}) from exc
    except ResponseRefused as exc:
        raise FileTooLarge(details={"max_bytes": max_bytes}) from exc
    except httpx2.TimeoutException as exc:
        raise UrlFetchFailed("The server did not answer in time.", details={"reason": "timeout"}) from exc
    except httpx2.HTTPError as exc:
        raise UrlFetchFailed("The server could not be reached.", details={"reason": "unreachable"}) from exc
    raise UrlFetchFailed(f"More than {MAX_REDIRECTS} redirects.", details={"reason": "redirects"})


def _check(policy: OutboundPolicy, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlFetchFailed("Only http and https URLs can be imported.", details={"reason": "scheme"})
    refusal = policy.url_refusal(url)
    if refusal is not None:
        raise OutboundURLForbidden(details={"host": parts.hostname, "reason": refusal})


def _redirected(policy: OutboundPolicy, url: str, location: str) -> str:
    if not location:
        raise UrlFetchFailed("A redirect without a Location.", details={"reason": "redirects"})
    target = urljoin(url, location)
    _check(policy, target)
    return target


async def _store(response: httpx2.Response, storage: Storage, max_bytes: int, filename: str) -> StoredFile:
    writer = await storage.writer(max_bytes=max_bytes, filename=filename, media_type=media_type_of(filename))
    try:
        async for chunk in response.aiter_bytes():
            await writer.write(chunk)
        stored = await writer.commit()
    except BaseException:
        # Also when the fetch's deadline cancelled it: the partial file goes all the same.
        with anyio.CancelScope(shield=True):
            await writer.abort()
        raise
    if stored.size == 0:
        await storage.delete(stored.key)
        raise UrlFetchFailed("The server sent nothing.", details={"reason": "empty"})
    return stored


def _filename(url: str, content_type: str) -> str:
    """The URL's last segment, with the extension of the content type when it says one."""
    media = media_type(content_type)
    if media in UNSAID:
        return file_name(url, url_extension(url))
    if media in EXTENSIONS:
        return file_name(url, EXTENSIONS[media])
    raise UnsupportedFileType(
        f"'{media}' is not a type Folio reads.", details={"content_type": media, "supported": sorted(EXTENSIONS)}
    )


def media_type(content_type: str) -> str:
    """The media type of a `Content-Type` header, without its parameters, in lower case."""
    return content_type.split(";", 1)[0].strip().lower()


def url_extension(url: str) -> str:
    """The extension of the URL's last segment, in lower case, without the dot ("" when it has none)."""
    return PurePosixPath(unquote(urlsplit(url).path)).suffix.lstrip(".").lower()


def file_name(url: str, extension: str) -> str:
    """A display name for the resource at `url`: its last segment (else its host) with `extension`, if any."""
    parts = urlsplit(url)
    stem = PurePosixPath(unquote(parts.path)).stem or parts.hostname or "page"
    return display_name(f"{stem}.{extension}" if extension else stem)


def last_modified(value: str | None) -> datetime | None:
    """The time a `Last-Modified` header names, if it is a valid HTTP date."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
