"""Reading the web source's pages: one spelling per URL, the kind of a body, a page's version and the conditional
headers it allows, its title and links, and a sitemap's URLs."""

from __future__ import annotations

import hashlib
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx2
from lxml import etree
from selectolax.lexbor import LexborHTMLParser

from folio.documents.web import EXTENSIONS, UNSAID, media_type, url_extension
from folio.integrations.errors import SourceUnavailable

MAX_TITLE, _MAX_VALIDATOR, _MAX_METADATA = 500, 180, 200
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What a body that its Content-Type says nothing about is, by its first bytes.
_MAGIC = ((b"%PDF-", "pdf"), (b"PK\x03\x04", "docx"))
_SUFFIXES = {extension: extension for extension in EXTENSIONS.values()} | {"htm": "html", "markdown": "md"}
# Links to these are not requested: no document Folio reads is behind them.
NOT_DOCUMENTS = frozenset(
    "png jpg jpeg gif webp avif svg ico bmp tif tiff css js mjs map json xml rss atom woff woff2 ttf otf eot zip gz "
    "tgz bz2 xz 7z rar tar mp3 mp4 m4a wav ogg webm mov avi mkv exe dmg iso apk msi".split()
)


def normalised(url: str) -> str | None:
    """One spelling per page: scheme and host in lower case, no default port, no fragment, `/` for an empty path
    (the query is kept: it often names the page). None for what is not an http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme not in _DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[parts.scheme]) else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_under(path: str, prefix: str) -> bool:
    base = prefix.rstrip("/")
    return path == base or path.startswith(f"{base}/")


def resolved(base: str, reference: str) -> str | None:
    try:
        return normalised(urljoin(base, reference.strip()))
    except ValueError:
        return None


def redirect_target(url: str, response: httpx2.Response) -> str | None:
    location = response.headers.get("location", "")
    return resolved(url, location) if location else None


def conditional_headers(version: str | None, *, follow: bool) -> dict[str, str]:
    """The conditional headers for a page held at `version`: none for an HTML page whose links are still needed."""
    if version is None:
        return {}
    kind, _, validator = version.partition(" ")
    if follow and kind == "html":
        return {}
    scheme, _, value = validator.partition(":")
    if scheme == "etag":
        return {"If-None-Match": value}
    if scheme == "lm":
        return {"If-Modified-Since": value}
    return {}


def page_version(extension: str, headers: httpx2.Headers, body: bytes) -> str:
    for scheme, header in (("etag", "etag"), ("lm", "last-modified")):
        value = headers.get(header, "").strip()
        # Sent back as a header later: printable ASCII only.
        if value and len(value) <= _MAX_VALIDATOR and value.isascii() and value.isprintable():
            return f"{extension} {scheme}:{value}"
    return f"{extension} sha256:{hashlib.sha256(body).hexdigest()}"


def kind_of(url: str, content_type: str, body: bytes) -> str | None:
    """The kind of the body: its Content-Type's, else its first bytes', else its URL's; None for another type."""
    media = media_type(content_type)
    if media in EXTENSIONS:
        return EXTENSIONS[media]
    if media not in UNSAID:
        return None
    for magic, extension in _MAGIC:
        if body.startswith(magic):
            return extension
    return _SUFFIXES.get(url_extension(url))


def page_title(parser: LexborHTMLParser | None, url: str) -> str:
    node = parser.css_first("title") if parser is not None else None
    title = " ".join(node.text().split()) if node is not None else ""
    return (title or url)[:MAX_TITLE]


def page_links(parser: LexborHTMLParser, url: str) -> list[str]:
    """The page's links and canonical URL, resolved against its `<base href>`, once each, in order."""
    base_node = parser.css_first("base[href]")
    base = (resolved(url, base_node.attributes.get("href") or "") if base_node is not None else None) or url
    found: dict[str, None] = {}
    for node in parser.css("a[href], link[href]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        if (node.tag == "link" and "canonical" not in rel) or "nofollow" in rel:
            continue
        link = resolved(base, node.attributes.get("href") or "")
        if link is not None:
            found[link] = None
    return list(found)


def page_metadata(headers: httpx2.Headers) -> dict[str, str]:
    values = {
        "content_type": headers.get("content-type"),
        "last_modified": headers.get("last-modified"),
        "etag": headers.get("etag"),
    }
    return {name: value[:_MAX_METADATA] for name, value in values.items() if value}


def parse_sitemap(body: bytes) -> tuple[bool, list[str]]:
    """Whether the sitemap is an index, and the URLs it lists (pages, or an index's sitemaps)."""
    # No entities expanded, no DTD or anything else loaded, libxml2's limits on size kept.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.LxmlError as exc:
        raise SourceUnavailable("The sitemap is not XML.") from exc
    kind = etree.QName(root).localname
    if kind not in {"urlset", "sitemapindex"}:
        raise SourceUnavailable("The sitemap is neither a urlset nor a sitemap index.")
    locations = (normalised(node.text or "") for node in root.iter("{*}loc"))
    return kind == "sitemapindex", [location for location in locations if location is not None]
