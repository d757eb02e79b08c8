"""The web source listing a site by its sitemap index: the pages of both sitemaps that are on the site and allowed,
each read once, and asked only conditionally once known."""

from __future__ import annotations

import pytest

from folio.integrations.errors import SourceRefused, SourceUnavailable
from tests.integrations.web.conftest import Connect, listed, versions
from tests.integrations.web.site import FakeSite, Page

SITEMAPPED = {"/about", "/guide/one", "/team", "/report.pdf", "/notes.txt", "/readme.md", "/deep/two"}
SITEMAPS = {"/sitemap-index.xml", "/sitemap-pages.xml", "/sitemap-docs.xml"}


async def test_a_sitemap_index_lists_the_pages_of_its_sitemaps(connect: Connect, site: FakeSite) -> None:
    async with connect(sitemap_url=f"{site.base_url}/sitemap-index.xml") as web:
        items = await listed(web)

    assert set(items) == SITEMAPPED
    assert all(item.content is not None for item in items.values())
    # No links followed; the disallowed and off-site entries never requested.
    assert site.requested() == {"/robots.txt", *SITEMAPS, *SITEMAPPED}
    assert all(hit.host.startswith("127.0.0.1:") for hit in site.log)


async def test_a_second_listing_makes_only_conditional_page_requests(connect: Connect, site: FakeSite) -> None:
    async with connect(sitemap_url=f"{site.base_url}/sitemap-index.xml") as web:
        first = await listed(web)
    site.log.clear()

    async with connect(sitemap_url=f"{site.base_url}/sitemap-index.xml") as web:
        second = await listed(web, versions(first))

    assert {path: item.version for path, item in second.items()} == {p: i.version for p, i in first.items()}
    assert all(item.content is None for item in second.values())
    pages = [hit for hit in site.log if hit.path in SITEMAPPED]
    assert len(pages) == len(SITEMAPPED)
    assert all(hit.conditional for hit in pages)


async def test_a_changed_page_of_a_sitemap_is_read(connect: Connect, site: FakeSite) -> None:
    async with connect(sitemap_url=f"{site.base_url}/sitemap-index.xml") as web:
        first = await listed(web)
    site.edit("/team", "The team, grown", etag='"team-2"')

    async with connect(sitemap_url=f"{site.base_url}/sitemap-index.xml") as web:
        second = await listed(web, versions(first))

    changed = [path for path, item in second.items() if item.content is not None]
    assert changed == ["/team"]
    assert second["/team"].version == 'html etag:"team-2"'


async def test_path_prefix_filters_a_sitemap(connect: Connect, site: FakeSite) -> None:
    start = f"{site.base_url}/guide/"
    async with connect(start_url=start, path_prefix="/guide/", sitemap_url=f"{site.base_url}/sitemap-index.xml") as web:
        items = await listed(web)

    assert set(items) == {"/guide/one"}


async def test_max_pages_bounds_a_sitemap(connect: Connect, site: FakeSite) -> None:
    async with connect(sitemap_url=f"{site.base_url}/sitemap-index.xml", max_pages=2) as web:
        items = await listed(web)

    assert list(items) == ["/about", "/guide/one"]
    assert not site.requested() & {"/team", "/sitemap-docs.xml"}


async def test_a_missing_sitemap_fails_the_listing(connect: Connect, site: FakeSite) -> None:
    del site.pages["/sitemap-docs.xml"]
    async with connect(sitemap_url=f"{site.base_url}/sitemap-index.xml") as web:
        with pytest.raises(SourceRefused) as raised:
            await listed(web)
    assert raised.value.status == 404


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>not a sitemap</body></html>",
        b"not xml at all",
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b"<feed>&b;</feed>",
    ],
)
async def test_what_is_not_a_sitemap_fails_the_listing(connect: Connect, site: FakeSite, body: bytes) -> None:
    site.pages["/sitemap-index.xml"] = Page(body, "application/xml")
    async with connect(sitemap_url=f"{site.base_url}/sitemap-index.xml") as web:
        with pytest.raises(SourceUnavailable, match="sitemap"):
            await listed(web)


async def test_entities_of_a_sitemap_are_not_expanded(connect: Connect, site: FakeSite) -> None:
    """An entity standing for a URL stays unexpanded: nothing a DTD declares reaches the crawl."""
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY page "{site.base_url}/team">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>&page;</loc></url><url><loc>{site.base_url}/about</loc></url></urlset>"
    ).encode()
    site.pages["/sitemap-index.xml"] = Page(body, "application/xml")
    async with connect(sitemap_url=f"{site.base_url}/sitemap-index.xml") as web:
        items = await listed(web)

    assert set(items) == {"/about"}
