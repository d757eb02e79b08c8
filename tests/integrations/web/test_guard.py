"""What keeps the web source polite and inside its walls: robots.txt (its rules, its statuses, its Crawl-delay) and
the outbound guard (loopback and private addresses refused, however the start URL gets there)."""

from __future__ import annotations

import anyio
import pytest

from folio.integrations.connectors import web as web_source
from folio.integrations.errors import SourceUnavailable
from folio.integrations.http import Retrying
from folio.outbound import OutboundPolicy, OutboundURLForbidden
from tests.integrations.web.conftest import Connect, listed
from tests.integrations.web.site import ROBOTS, FakeSite, Page


async def test_robots_txt_keeps_foliobot_out_of_what_it_disallows(connect: Connect, site: FakeSite) -> None:
    """The rules for FolioBot apply, not those for every other agent (which disallow everything)."""
    async with connect() as web:
        items = await listed(web)

    assert "/" in items
    assert "/private/salaries" not in site.requested()


async def test_a_disallowed_redirect_target_is_not_requested(connect: Connect, site: FakeSite) -> None:
    site.pages["/old"] = Page(status=301, location="/private/salaries")
    async with connect() as web:
        items = await listed(web)

    assert "/old" in site.requested()
    assert "/private/salaries" not in site.requested()
    assert "/private/salaries" not in items


@pytest.mark.parametrize("status", [401, 403, 404, 410])
async def test_robots_txt_unavailable_allows_everything(connect: Connect, site: FakeSite, status: int) -> None:
    site.robots = Page(b"Disallow: /", "text/plain", status=status)
    async with connect(max_depth=1) as web:
        items = await listed(web)

    assert "/private/salaries" in items


async def test_robots_txt_failing_fails_the_listing_before_any_page(connect: Connect, site: FakeSite) -> None:
    """A 5xx reads as "disallow all": no page is requested, and the listing fails rather than coming back empty
    (which would delete every page held)."""
    site.robots = Page(b"oops", "text/plain", status=503)
    async with connect(retrying=Retrying(max_retries=0)) as web:
        with pytest.raises(SourceUnavailable):
            await listed(web)

    assert site.requested() == {"/robots.txt"}


async def test_crawl_delay_is_kept_up_to_its_cap(
    connect: Connect, site: FakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.robots = Page(ROBOTS.replace("Crawl-delay: 0", "Crawl-delay: 60").encode(), "text/plain")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(anyio, "sleep", sleep)
    async with connect(max_depth=1, max_pages=4) as web:
        await listed(web)
        requests = web.http.requests

    # Every request after robots.txt waited, and none for longer than the cap.
    assert len(waits) == requests - 1
    assert all(0 < wait <= web_source.MAX_CRAWL_DELAY_SECONDS for wait in waits)


async def test_a_start_url_on_loopback_is_refused_by_the_strict_policy(connect: Connect, site: FakeSite) -> None:
    async with connect(policy=OutboundPolicy()) as web:
        with pytest.raises(OutboundURLForbidden):
            await web.check()
        with pytest.raises(OutboundURLForbidden):
            await listed(web)

    assert site.log == []


async def test_a_name_resolving_to_loopback_is_refused(connect: Connect, site: FakeSite) -> None:
    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    start = site.base_url.replace("127.0.0.1", "intranet.example.com") + "/"
    async with connect(start_url=start, policy=OutboundPolicy(resolver=resolver)) as web:
        with pytest.raises(OutboundURLForbidden):
            await listed(web)

    assert site.log == []


async def test_a_start_url_redirecting_to_a_private_address_is_refused(connect: Connect, site: FakeSite) -> None:
    """The policy lets the tests reach this server alone; the start URL's redirect to 10.0.0.7 is refused."""
    policy = OutboundPolicy(allow_private=True, allow_hosts=["127.0.0.1"])
    async with connect(start_url=f"{site.base_url}/start-private", policy=policy) as web:
        with pytest.raises(OutboundURLForbidden):
            await listed(web)
        with pytest.raises(OutboundURLForbidden):
            await web.check()


async def test_a_redirect_of_the_start_url_moves_the_site(connect: Connect, site: FakeSite) -> None:
    """`localhost:<port>/start-moved` redirects to `127.0.0.1:<port>/guide/`: the crawl is of the latter site, whose
    robots.txt is read too."""
    start = site.base_url.replace("127.0.0.1", "localhost") + "/start-moved"
    async with connect(start_url=start, max_depth=1) as web:
        items = await listed(web)

    assert set(items) == {"/guide/", "/guide/one", "/guide/two", "/"}
    assert all(item.external_id.startswith(site.base_url) for item in items.values())
    assert {(hit.host.split(":")[0], hit.path) for hit in site.log if hit.path == "/robots.txt"} == {
        ("localhost", "/robots.txt"),
        ("127.0.0.1", "/robots.txt"),
    }
