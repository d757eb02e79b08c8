"""A small web site for the web source's tests, served over real HTTP: two dozen pages in a link graph (some deeper
than a crawl of depth 2 reaches), a link off the site (the same server under the name `localhost`, so a request to
it would show in the log), robots.txt keeping FolioBot out of /private/, pages with ETags and Last-Modified dates
that answer 304 to a matching conditional request, a PDF, a DOCX served as octet-stream, redirects within the site,
off it and to a private address, a page too large for the tests' cap, and a sitemap index of two sitemaps.

Every request is logged (host, path with query, the conditional headers, the User-Agent) so tests can say what was
and was not requested. `python -m tests.integrations.web.site --port 8791` serves it for a person trying Folio.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass, field

import docx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.attacks import report

HTML = "text/html; charset=utf-8"
UNICODE_TITLE = "Política de privacidad — 日本語の手引き 🎉 שלום"
# Larger than the tests' response cap (BODY_CAP).
BODY_CAP = 100_000
ROBOTS = """User-agent: *
Disallow: /

User-agent: FolioBot
Disallow: /private/
Crawl-delay: 0
"""


@dataclass
class Page:
    body: bytes = b""
    content_type: str | None = HTML
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    location: str | None = None


@dataclass(frozen=True)
class Hit:
    host: str
    path: str
    if_none_match: str | None
    if_modified_since: str | None
    user_agent: str | None

    @property
    def conditional(self) -> bool:
        return self.if_none_match is not None or self.if_modified_since is not None


def html(title: str, *links: str, head: str = "", text: str = "") -> bytes:
    anchors = "".join(f'<li><a href="{link}">{link}</a></li>' for link in links)
    return (
        f"<!doctype html><html><head><title>{title}</title>{head}</head>"
        f"<body><h1>{title}</h1><p>{text or title}</p><ul>{anchors}</ul></body></html>"
    ).encode()


def handbook() -> bytes:
    document = docx.Document()
    document.add_heading("Staff handbook", level=1)
    document.add_paragraph("Holidays are booked two weeks ahead.")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def lm(day: int) -> str:
    return f"Wed, {day:02d} Dec 2026 10:00:00 GMT"


@dataclass
class FakeSite:
    base_url: str = ""
    pages: dict[str, Page] = field(default_factory=dict)
    robots: Page = field(default_factory=Page)
    log: list[Hit] = field(default_factory=list)
    rate_limited: int = 0
    retry_after: int = 0

    @property
    def offsite(self) -> str:
        """The same server under another host name: another site."""
        return self.base_url.replace("127.0.0.1", "localhost") + "/offsite"

    def reset(self) -> None:
        self.log.clear()
        self.rate_limited = self.retry_after = 0
        self.robots = Page(ROBOTS.encode(), "text/plain")
        root_links = [
            "/guide/",
            "/about#team",
            self.base_url.replace("http://", "HTTP://") + "/about",
            "/report.pdf",
            "/notes.txt",
            "/readme.md",
            "/files/handbook",
            "/files/scan",
            "/private/salaries",
            self.offsite,
            "/logo.png",
            "/pixel",
            "/old",
            "/away",
            "/to-private",
            "/missing",
            "/big",
            "/unicode",
            "/plain",
            "/search?q=leave",
            "/canon-source",
            "mailto:hr@example.com",
            "javascript:void(0)",
        ]
        nofollow = '<a rel="nofollow" href="/nofollow">not this</a>'
        self.pages = {
            "/": Page(html("Home", *root_links, text=nofollow), etag='"home-1"'),
            "/guide/": Page(html("Guide", "one", "two", "../"), etag='"guide-1"'),
            "/about": Page(html("About us", "/team"), last_modified=lm(1)),
            "/canon-source": Page(html("Source", head='<link rel="canonical" href="/canon-target">'), etag='"cs"'),
            "/canon-target": Page(html("Canonical"), etag='"ct"'),
            "/guide/one": Page(html("Guide one", "/deep/one"), etag='"one-1"'),
            "/guide/two": Page(html("Guide two", "/deep/one"), last_modified=lm(2)),
            "/team": Page(html("Team", "/deep/two"), etag='"team-1"'),
            "/deep/one": Page(html("Deep one", "/deep/two"), etag='"deep-1"'),
            "/deep/two": Page(html("Deep two"), etag='"deep-2"'),
            "/report.pdf": Page(report(1, pages=2), "application/pdf", etag='"report-1"'),
            "/notes.txt": Page(b"Rota notes: Ada on Mondays.", "text/plain", last_modified=lm(3)),
            "/readme.md": Page(b"# Read me\n\nHow we work.", "text/markdown", etag='"readme-1"'),
            "/files/handbook": Page(handbook(), "application/octet-stream", etag='"handbook-1"'),
            "/files/scan": Page(report(2, pages=1), None, last_modified=lm(4)),
            "/private/salaries": Page(html("Salaries"), etag='"salaries"'),
            "/offsite": Page(html("Another site"), etag='"offsite"'),
            "/logo.png": Page(b"\x89PNG\r\n\x1a\n", "image/png"),
            "/pixel": Page(b"GIF89a\x01\x00\x01\x00", "image/gif"),
            "/old": Page(status=301, location="/moved"),
            "/moved": Page(html("Moved here"), etag='"moved-1"'),
            "/away": Page(status=302, location=self.offsite),
            "/to-private": Page(status=302, location="http://10.0.0.7/admin"),
            "/start-private": Page(status=302, location="http://10.0.0.7/"),
            "/start-moved": Page(status=301, location=f"{self.base_url}/guide/"),
            "/big": Page(html("Big", text="x" * (BODY_CAP + 1)), etag='"big"'),
            "/unicode": Page(html(UNICODE_TITLE, text="مرحبا بالعالم — 你好"), etag='"unicode-1"'),
            "/plain": Page(html("No validators")),
            "/search?q=leave": Page(html("Search: leave"), etag='"search-1"'),
            "/nofollow": Page(html("Not followed"), etag='"nofollow"'),
            "/sitemap-index.xml": self._sitemap("sitemapindex", "sitemap", ["/sitemap-pages.xml", "/sitemap-docs.xml"]),
            "/sitemap-pages.xml": self._sitemap(
                "urlset", "url", ["/about", "/guide/one", "/team", "/private/salaries", self.offsite]
            ),
            "/sitemap-docs.xml": self._sitemap(
                "urlset", "url", ["/report.pdf", "/notes.txt", "/readme.md", "/deep/two"]
            ),
        }

    def edit(self, path: str, title: str, *links: str, etag: str) -> None:
        self.pages[path] = Page(html(title, *links), etag=etag)

    def rate_limit_next(self, count: int, retry_after: int = 0) -> None:
        self.rate_limited, self.retry_after = count, retry_after

    def hits(self, path: str) -> list[Hit]:
        return [hit for hit in self.log if hit.path == path]

    def requested(self) -> set[str]:
        return {hit.path for hit in self.log}

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.serve)])

    async def serve(self, request: Request) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = request.headers
        self.log.append(
            Hit(
                headers.get("host", ""),
                path,
                headers.get("if-none-match"),
                headers.get("if-modified-since"),
                headers.get("user-agent"),
            )
        )
        if self.rate_limited:
            self.rate_limited -= 1
            return Response(b"slow down", status_code=429, headers={"Retry-After": str(self.retry_after)})
        page = self.robots if path == "/robots.txt" else self.pages.get(path)
        if page is None:
            return Response(b"not found", status_code=404, media_type="text/plain")
        if page.location is not None:
            return Response(status_code=page.status, headers={"Location": page.location})
        validators = {"ETag": page.etag, "Last-Modified": page.last_modified}
        answer = {name: value for name, value in validators.items() if value is not None}
        if (page.etag is not None and headers.get("if-none-match") == page.etag) or (
            page.last_modified is not None and headers.get("if-modified-since") == page.last_modified
        ):
            return Response(status_code=304, headers=answer)
        if page.content_type is not None:
            answer["Content-Type"] = page.content_type
        return Response(page.body, status_code=page.status, headers=answer)

    def _sitemap(self, root: str, entry: str, locations: list[str]) -> Page:
        """A sitemap of `locations`, paths on this site or whole URLs."""
        absolute = (self.base_url + location if location.startswith("/") else location for location in locations)
        entries = "".join(f"<{entry}><loc>{location}</loc></{entry}>" for location in absolute)
        namespace = "http://www.sitemaps.org/schemas/sitemap/0.9"
        body = f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{namespace}">{entries}</{root}>'
        return Page(body.encode(), "application/xml")


def main() -> None:
    parser = argparse.ArgumentParser(description="A small web site, to try Folio's web integration.")
    parser.add_argument("--port", type=int, default=8791)
    options = parser.parse_args()
    import uvicorn

    site = FakeSite(base_url=f"http://127.0.0.1:{options.port}")
    site.reset()
    print(f"Web site at {site.base_url}/ (sitemap {site.base_url}/sitemap-index.xml)")  # noqa: T201
    uvicorn.run(site.app(), host="127.0.0.1", port=options.port, log_level="warning")


if __name__ == "__main__":
    main()
