"""The web source crawling a small site over real HTTP: what it lists and reads, what it never requests, and how a
second listing asks only what changed."""

from __future__ import annotations

import pytest

from folio.documents.web import USER_AGENT
from folio.integrations.connector import Item
from folio.integrations.errors import InvalidIntegrationConfig, ItemGone, ItemTooLarge, SourceRefused
from tests.integrations.web.conftest import Connect, listed, versions
from tests.integrations.web.site import ROBOTS, UNICODE_TITLE, FakeSite, Page

# What a crawl of depth 2 from the home page reads: /moved through the redirect of /old, /canon-target through
# /canon-source's canonical link, /files/* by their first bytes.
CRAWLED = {
    "/",
    "/guide/",
    "/about",
    "/report.pdf",
    "/notes.txt",
    "/readme.md",
    "/files/handbook",
    "/files/scan",
    "/moved",
    "/unicode",
    "/plain",
    "/search?q=leave",
    "/canon-source",
    "/canon-target",
    "/guide/one",
    "/guide/two",
    "/team",
}
# Pages at depth 2 and documents: asked conditionally once known. The rest are HTML pages whose links are followed.
LEAVES_AND_DOCUMENTS = {
    "/report.pdf",
    "/notes.txt",
    "/readme.md",
    "/files/handbook",
    "/files/scan",
    "/canon-target",
    "/guide/one",
    "/guide/two",
    "/team",
}


async def test_a_crawl_lists_the_site_to_its_depth_with_each_body(connect: Connect, site: FakeSite) -> None:
    async with connect() as web:
        items = await listed(web)

    assert set(items) == CRAWLED
    for path, item in items.items():
        assert item.external_id == item.url == f"{site.base_url}{path}"
        assert item.content is not None, path
    assert items["/"].title == "Home"
    assert items["/report.pdf"].title == items["/report.pdf"].url
    assert len(site.hits("/robots.txt")) == 1
    assert all(hit.user_agent == USER_AGENT for hit in site.log)


async def test_what_is_out_of_scope_is_never_requested(connect: Connect, site: FakeSite) -> None:
    async with connect() as web:
        await listed(web)

    requested = site.requested()
    assert not requested & {"/private/salaries", "/offsite", "/deep/one", "/deep/two", "/nofollow", "/logo.png"}
    assert all(hit.host.startswith("127.0.0.1:") for hit in site.log)
    # Requested, then skipped: an image, a missing page, redirects off the site and to a private address.
    assert {"/pixel", "/missing", "/old", "/away", "/to-private"} <= requested


async def test_each_kind_is_read_by_its_type_or_first_bytes(connect: Connect, site: FakeSite) -> None:
    async with connect() as web:
        items = await listed(web)

    def content(path: str) -> tuple[str, bytes]:
        body = items[path].content
        assert body is not None
        return body.filename, body.body

    assert content("/")[0] == "127.0.0.1.html"
    assert content("/report.pdf") == ("report.pdf", site.pages["/report.pdf"].body)
    assert content("/notes.txt")[0] == "notes.txt"
    assert content("/readme.md")[0] == "readme.md"
    assert content("/files/handbook") == ("handbook.docx", site.pages["/files/handbook"].body)
    assert content("/files/scan")[0] == "scan.pdf"
    assert content("/guide/one")[0] == "one.html"
    report = items["/report.pdf"].content
    assert report is not None
    assert report.metadata == {"content_type": "application/pdf", "etag": '"report-1"'}
    notes = items["/notes.txt"].content
    assert notes is not None
    assert notes.metadata["last_modified"] == "Wed, 03 Dec 2026 10:00:00 GMT"
    assert items["/notes.txt"].updated_at is not None
    assert items["/notes.txt"].updated_at.isoformat() == "2026-12-03T10:00:00+00:00"


async def test_trivial_variants_of_a_url_are_one_page(connect: Connect, site: FakeSite) -> None:
    """The home page links /about as `/about#team` and as `HTTP://127.0.0.1:<port>/about`."""
    async with connect() as web:
        items = await listed(web)

    assert items["/about"].external_id == f"{site.base_url}/about"
    assert len(site.hits("/about")) == 1


async def test_versions_are_the_kind_and_a_validator(connect: Connect) -> None:
    async with connect() as web:
        items = await listed(web)

    assert items["/guide/one"].version == 'html etag:"one-1"'
    assert items["/notes.txt"].version == "txt lm:Wed, 03 Dec 2026 10:00:00 GMT"
    assert items["/files/handbook"].version == 'docx etag:"handbook-1"'
    assert items["/plain"].version.startswith("html sha256:")


async def test_a_second_listing_with_nothing_changed_reads_no_body_again(connect: Connect, site: FakeSite) -> None:
    async with connect() as web:
        first = await listed(web)
    site.log.clear()

    async with connect() as web:
        second = await listed(web, versions(first))

    assert set(second) == CRAWLED
    assert {path: item.version for path, item in second.items()} == {p: i.version for p, i in first.items()}
    assert all(item.content is None for item in second.values())
    for path in LEAVES_AND_DOCUMENTS:
        [hit] = site.hits(path)
        assert hit.conditional, path
    # Links of a 304 are unknown and the sync keeps no links: HTML pages that are followed are read whole.
    assert not any(hit.conditional for hit in site.hits("/guide/"))


async def test_an_edit_changes_the_version_and_hands_over_the_new_body(connect: Connect, site: FakeSite) -> None:
    async with connect() as web:
        first = await listed(web)
    site.edit("/guide/one", "Guide one, revised", etag='"one-2"')
    site.edit("/guide/", "Guide, revised", "one", etag='"guide-2"')

    async with connect() as web:
        second = await listed(web, versions(first))

    for path in ("/guide/one", "/guide/"):
        assert second[path].version != first[path].version
        content = second[path].content
        assert content is not None
        assert b"revised" in content.body
    assert second["/guide/one"].title == "Guide one, revised"
    # The revised guide no longer links /guide/two, which nothing else links.
    assert "/guide/two" not in second


async def test_a_removed_page_leaves_the_listing_and_its_fetch_is_gone(connect: Connect, site: FakeSite) -> None:
    async with connect() as web:
        items = await listed(web)
    del site.pages["/readme.md"]

    async with connect() as web:
        again = await listed(web, versions(items))
        with pytest.raises(ItemGone):
            await web.fetch(items["/readme.md"])

    assert "/readme.md" not in again
    assert set(again) == CRAWLED - {"/readme.md"}


async def test_fetch_reads_a_page_again(connect: Connect, site: FakeSite) -> None:
    item = Item(f"{site.base_url}/about", "About us", "html lm:x", url=f"{site.base_url}/about")
    async with connect() as web:
        content = await web.fetch(item)

    assert content.filename == "about.html"
    assert b"About us" in content.body
    assert not site.hits("/about")[0].conditional


async def test_unicode_survives(connect: Connect) -> None:
    async with connect() as web:
        items = await listed(web)

    page = items["/unicode"]
    assert page.title == UNICODE_TITLE
    assert page.content is not None
    assert "مرحبا بالعالم — 你好" in page.content.body.decode()


async def test_a_page_past_the_cap_is_skipped_alone(connect: Connect, site: FakeSite) -> None:
    async with connect() as web:
        items = await listed(web)
        with pytest.raises(ItemTooLarge):
            await web.fetch(Item(f"{site.base_url}/big", "Big", "html x", url=f"{site.base_url}/big"))

    assert "/big" not in items
    assert site.hits("/big")
    # Linked after it from the home page, and still read.
    assert {"/unicode", "/plain", "/search?q=leave"} <= set(items)


async def test_max_pages_bounds_the_requests(connect: Connect, site: FakeSite) -> None:
    async with connect(max_pages=5) as web:
        items = await listed(web)

    # Breadth first: the home page, then the first four of its links.
    assert site.requested() == {"/robots.txt", "/", "/guide/", "/about", "/report.pdf", "/notes.txt"}
    assert list(items) == ["/", "/guide/", "/about", "/report.pdf", "/notes.txt"]


async def test_max_items_bounds_the_listing(connect: Connect) -> None:
    async with connect(max_items=3) as web:
        items = await listed(web)

    assert list(items) == ["/", "/guide/", "/about"]


async def test_depth_zero_reads_the_start_page_alone(connect: Connect, site: FakeSite) -> None:
    async with connect(max_depth=0) as web:
        items = await listed(web)

    assert list(items) == ["/"]
    assert site.requested() == {"/robots.txt", "/"}


async def test_path_prefix_keeps_the_crawl_under_it(connect: Connect, site: FakeSite) -> None:
    async with connect(start_url=f"{site.base_url}/guide/", path_prefix="/guide") as web:
        items = await listed(web)

    assert set(items) == {"/guide/", "/guide/one", "/guide/two"}
    assert "/" not in site.requested()


async def test_a_rate_limited_request_is_retried(connect: Connect, site: FakeSite) -> None:
    site.rate_limit_next(2, retry_after=0)
    async with connect(max_depth=0) as web:
        items = await listed(web)

    assert list(items) == ["/"]
    assert len(site.hits("/robots.txt")) == 3


async def test_check_names_the_site(connect: Connect, site: FakeSite) -> None:
    async with connect() as web:
        assert await web.check() == "site 127.0.0.1"
    assert site.requested() == {"/robots.txt", "/"}


async def test_check_fails_for_a_start_url_robots_txt_forbids(connect: Connect, site: FakeSite) -> None:
    site.robots = Page(ROBOTS.replace("Disallow: /private/", "Disallow: /").encode(), "text/plain")
    async with connect() as web:
        with pytest.raises(InvalidIntegrationConfig, match="robots.txt"):
            await web.check()
    assert site.requested() == {"/robots.txt"}


async def test_check_fails_for_a_missing_start_page(connect: Connect, site: FakeSite) -> None:
    async with connect(start_url=f"{site.base_url}/missing") as web:
        with pytest.raises(SourceRefused) as raised:
            await web.check()
    assert raised.value.status == 404
