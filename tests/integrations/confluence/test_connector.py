"""The Confluence connector against the fake site over real HTTP: listing, fetching, failures."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from folio.ingestion.extract import extract
from folio.ingestion.extracted import FileKind
from folio.integrations.connector import Item
from folio.integrations.connectors.confluence import ConfluenceConnector
from folio.integrations.errors import CredentialsRejected, ItemGone, ItemTooLarge, SourceUnavailable
from folio.settings import IngestionSettings
from tests.integrations.confluence.conftest import Connect, token_headers
from tests.integrations.fakes.confluence import API_TOKEN, FakeConfluence
from tests.live_server import serve_in_thread

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


async def listed(connector: ConfluenceConnector) -> list[Item]:
    return [item async for item in connector.listing({})]


def html_text(body: bytes, tmp_path: Path) -> str:
    """What the ingestion reads from a page's HTML."""
    path = tmp_path / "page.html"
    path.write_bytes(body)
    return extract(path, FileKind.HTML, IngestionSettings()).text


async def test_the_listing_pages_through_every_page_of_the_configured_spaces(
    fake: FakeConfluence, connect: Connect
) -> None:
    engineering, other = fake.add_space("ENG"), fake.add_space("OTHER")
    pages = fake.seed(600, engineering)
    fake.seed(3, other)

    async with connect(space_keys=["ENG"], include_attachments=False) as connector:
        items = await listed(connector)
        requests = connector.http.requests

    assert [item.external_id for item in items] == [page.id for page in pages]
    assert items[0].version == "1"
    assert items[0].url == f"{fake.base_url}/wiki/spaces/ENG/pages/{pages[0].id}/Page%200"
    assert items[0].updated_at is not None
    # One for the space, then 250 pages a request; no body is read.
    assert requests == 1 + math.ceil(600 / 250)
    assert len(fake.calls_to("/wiki/api/v2/pages")) == 3
    assert all("body-format" not in call.query for call in fake.calls)


async def test_without_space_keys_every_page_is_listed_in_one_listing(fake: FakeConfluence, connect: Connect) -> None:
    for key in ("A", "B", "C", "D"):
        fake.seed(120, fake.add_space(key))

    async with connect(include_attachments=False) as connector:
        items = await listed(connector)
        requests = connector.http.requests

    assert len(items) == 480
    assert requests == math.ceil(480 / 250)
    assert not fake.calls_to("/spaces")


async def test_attachments_of_listed_pages_are_items_of_their_own(fake: FakeConfluence, connect: Connect) -> None:
    space, elsewhere = fake.add_space("ENG"), fake.add_space("OTHER")
    page = fake.add_page(space, "Specs")
    kept = [
        fake.add_attachment(page, "spec.pdf", b"%PDF-1.4 fake", "application/pdf"),
        fake.add_attachment(page, "plan.docx", b"PK docx", DOCX),
        fake.add_attachment(page, "notes.md", b"# Notes", "text/plain"),
        fake.add_attachment(page, "readme.markdown", b"# Readme", "application/octet-stream"),
        fake.add_attachment(page, "log.txt", b"line", "text/plain"),
        fake.add_attachment(page, "export.html", b"<p>hi</p>", "text/html"),
    ]
    fake.add_attachment(page, "diagram.png", b"\x89PNG", "image/png")
    fake.add_attachment(page, "bundle.zip", b"PK", "application/octet-stream")
    fake.add_attachment(fake.add_page(elsewhere, "Out of scope"), "other.pdf", b"%PDF", "application/pdf")

    async with connect(space_keys=["ENG"]) as connector:
        items = await listed(connector)
        requests = connector.http.requests

    attachments = {item.external_id: item for item in items if item.external_id.startswith("attachment:")}
    assert set(attachments) == {f"attachment:{attachment.id}" for attachment in kept}
    assert attachments[f"attachment:{kept[0].id}"].title == "spec.pdf"
    assert attachments[f"attachment:{kept[0].id}"].version == "1"
    # Space, pages, then one listing per media type read; images are never listed.
    assert requests == 1 + 1 + 6
    assert all(call.query.get("mediaType") != "image/png" for call in fake.calls_to("/attachments"))


@pytest.mark.parametrize(
    ("title", "media_type", "filename"),
    [
        ("spec.pdf", "application/pdf", "spec.pdf"),
        ("scan", "application/pdf", "scan.pdf"),
        ("plan.docx", DOCX, "plan.docx"),
        ("notes.md", "text/plain", "notes.md"),
        ("readme.markdown", "application/octet-stream", "readme.markdown.md"),
        ("log.txt", "text/plain", "log.txt"),
        ("export.htm", "text/html", "export.htm.html"),
    ],
)
async def test_an_attachment_is_fetched_as_its_file(
    fake: FakeConfluence, connect: Connect, title: str, media_type: str, filename: str
) -> None:
    page = fake.add_page(fake.add_space("ENG"), "Specs")
    attachment = fake.add_attachment(page, title, f"the bytes of {title}".encode(), media_type)

    async with connect() as connector:
        item = next(item for item in await listed(connector) if item.external_id == f"attachment:{attachment.id}")
        content = await connector.fetch(item)

    assert content.body == f"the bytes of {title}".encode()
    assert content.filename == filename
    assert content.metadata["page_id"] == page.id
    assert content.metadata["media_type"] == media_type
    # Downloaded through the REST download and its signed media URL (which refuses credentials).
    assert fake.calls_to(f"/child/attachment/{attachment.id}/download")
    assert fake.calls_to(f"/media/file/{attachment.file_id}/binary")
    assert not fake.calls_to(f"/wiki/download/attachments/{page.id}/{title}")


async def test_a_page_is_fetched_as_an_html_document_the_ingestion_reads(
    fake: FakeConfluence, connect: Connect, tmp_path: Path
) -> None:
    space = fake.add_space("ENG")
    page = fake.add_page(space, "Release guide", labels=["ops", "release"])

    async with connect() as connector:
        content = await connector.fetch(Item(external_id=page.id, title="", version="1"))

    assert content.filename == "Release guide.html"
    assert b"<title>Release guide</title>" in content.body
    assert content.metadata == {
        "space_id": space.id,
        "space_key": "ENG",
        "author_id": content.metadata["author_id"],
        "version": 1,
        "status": "current",
        "labels": ["ops", "release"],
    }
    text = html_text(content.body, tmp_path)
    assert "# Release guide" in text
    assert "Service | Owner\nbilling | Team Rocket" in text
    assert "Deploys freeze on Fridays." in text
    assert 'if a < b and c > d:\n    print("<ok>")' in text  # the code block, CDATA and all
    assert "the runbook" in text
    assert "Rotate the keys" in text
    assert "2026-02-03" in text
    # Macro parameters and task bookkeeping are not prose.
    assert "python" not in text
    assert "Heads up" not in text
    assert "incomplete" not in text


async def test_an_edit_changes_the_version(fake: FakeConfluence, connect: Connect) -> None:
    page = fake.add_page(fake.add_space("ENG"), "Guide")
    attachment = fake.add_attachment(page, "spec.pdf", b"%PDF v1", "application/pdf")

    fake.edit_page(page.id, storage="<p>Second draft</p>")
    fake.edit_attachment(attachment.id, b"%PDF v2")
    async with connect() as connector:
        versions = {item.external_id: item.version for item in await listed(connector)}
        content = await connector.fetch(Item(external_id=page.id, title="Guide", version="2"))

    assert versions == {page.id: "2", f"attachment:{attachment.id}": "2"}
    assert b"Second draft" in content.body


async def test_deleted_items_leave_the_listing_and_their_fetch_says_gone(
    fake: FakeConfluence, connect: Connect
) -> None:
    space = fake.add_space("ENG")
    kept, deleted = fake.add_page(space, "Kept"), fake.add_page(space, "Deleted")
    attachment = fake.add_attachment(kept, "spec.pdf", b"%PDF", "application/pdf")

    async with connect() as connector:
        items = {item.external_id: item for item in await listed(connector)}
        del fake.pages[deleted.id]
        del fake.attachments[attachment.id]
        remaining = [item.external_id for item in await listed(connector)]
        with pytest.raises(ItemGone):
            await connector.fetch(items[deleted.id])
        with pytest.raises(ItemGone):
            await connector.fetch(items[f"attachment:{attachment.id}"])

    assert remaining == [kept.id]


async def test_a_trashed_page_is_gone(fake: FakeConfluence, connect: Connect) -> None:
    page = fake.add_page(fake.add_space("ENG"), "Old")
    page.status = "trashed"

    async with connect() as connector:
        assert await listed(connector) == []
        with pytest.raises(ItemGone):
            await connector.fetch(Item(external_id=page.id, title="Old", version="1"))


async def test_a_page_moved_out_of_scope_leaves_the_listing_with_its_attachments(
    fake: FakeConfluence, connect: Connect
) -> None:
    space, archive = fake.add_space("ENG"), fake.add_space("ARCHIVE")
    stays, moves = fake.add_page(space, "Stays"), fake.add_page(space, "Moves")
    fake.add_attachment(moves, "spec.pdf", b"%PDF", "application/pdf")

    moves.space_id = archive.id
    async with connect(space_keys=["ENG"]) as connector:
        items = await listed(connector)

    assert [item.external_id for item in items] == [stays.id]


async def test_a_rate_limited_listing_waits_and_goes_on(fake: FakeConfluence, connect: Connect) -> None:
    fake.seed(300, fake.add_space("ENG"))
    fake.rate_limit_next(2, retry_after=0)

    async with connect(include_attachments=False) as connector:
        items = await listed(connector)

    assert len(items) == 300
    assert len(fake.calls_to("/wiki/api/v2/pages")) == 2 + 2


async def test_a_revoked_token_is_rejected_without_showing_it(fake: FakeConfluence, connect: Connect) -> None:
    page = fake.add_page(fake.add_space("ENG"), "Guide")
    fake.revoke()

    async with connect() as connector:
        failures = []
        for attempt in (connector.check(), listed(connector), connector.fetch(Item(page.id, "Guide", "1"))):
            with pytest.raises(CredentialsRejected) as raised:
                await attempt
            failures.append(raised.value)

    secret = token_headers()["Authorization"].removeprefix("Basic ")
    for failure in failures:
        for shown in (str(failure), repr(failure), repr(failure.__cause__)):
            assert API_TOKEN not in shown
            assert secret not in shown


async def test_unicode_survives_from_title_to_text(fake: FakeConfluence, connect: Connect, tmp_path: Path) -> None:
    title = "設計メモ 🚀 مرحبا"
    storage = "<p>中文段落 — emoji 🎉 and العربية من اليمين</p><p>𝔘𝔫𝔦𝔠𝔬𝔡𝔢 &amp; ümlaut</p>"
    page = fake.add_page(fake.add_space("ENG"), title, storage)

    async with connect() as connector:
        [item] = await listed(connector)
        content = await connector.fetch(item)

    assert item.title == title
    assert content.filename == f"{title}.html"
    text = html_text(content.body, tmp_path)
    assert "中文段落 — emoji 🎉 and العربية من اليمين" in text
    assert "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 & ümlaut" in text
    assert page.id == item.external_id


async def test_a_page_larger_than_the_server_stores_fails_alone(fake: FakeConfluence, connect: Connect) -> None:
    """Bounded by the client's cap on answers (`ItemTooLarge`), not truncated: half a page would read as whole."""
    space = fake.add_space("ENG")
    huge = fake.add_page(space, "Huge", "<p>" + "word " * 60_000 + "</p>")
    small = fake.add_page(space, "Small", "<p>fine</p>")

    async with connect(max_response_bytes=64 * 1024) as connector:
        items = {item.external_id: item for item in await listed(connector)}
        with pytest.raises(ItemTooLarge):
            await connector.fetch(items[huge.id])
        content = await connector.fetch(items[small.id])

    assert b"fine" in content.body


async def test_the_listing_stops_at_max_items(fake: FakeConfluence, connect: Connect) -> None:
    page = fake.seed(600, fake.add_space("ENG"))[0]
    fake.add_attachment(page, "spec.pdf", b"%PDF", "application/pdf")

    async with connect(max_items=300) as connector:
        items = await listed(connector)
        requests = connector.http.requests

    assert len(items) == 300
    assert requests == 2  # the third listing page and the attachments are never asked for


async def test_max_items_counts_attachments_too(fake: FakeConfluence, connect: Connect) -> None:
    page = fake.add_page(fake.add_space("ENG"), "Specs")
    for number in range(3):
        fake.add_attachment(page, f"spec-{number}.pdf", b"%PDF", "application/pdf")

    async with connect(max_items=3) as connector:
        items = await listed(connector)

    assert [item.title for item in items] == ["Specs", "spec-0.pdf", "spec-1.pdf"]


async def test_check_names_the_site_and_fails_on_a_bad_token(fake: FakeConfluence, connect: Connect) -> None:
    async with connect() as connector:
        assert await connector.check() == "Confluence site 127.0.0.1"
    assert fake.calls_to("/wiki/api/v2/spaces")[0].query == {"limit": "1"}

    async with connect(headers=token_headers("not-the-token")) as connector:
        with pytest.raises(CredentialsRejected) as raised:
            await connector.check()
    assert "not-the-token" not in str(raised.value)


async def test_a_sync_of_5000_unchanged_pages_costs_20_requests(fake: FakeConfluence, connect: Connect) -> None:
    pages = fake.seed(5000, fake.add_space("BIG"))

    async with connect(include_attachments=False) as connector:
        items = await listed(connector)
        requests = connector.http.requests

    assert {item.external_id: item.version for item in items} == {page.id: "1" for page in pages}
    assert requests == 20


async def test_a_next_link_off_the_api_fails_the_listing_rather_than_end_it(connect: Connect) -> None:
    """A listing cut short would read as deletions. The first page links on in its Link header only."""

    async def pages(request: Request) -> JSONResponse:
        if "cursor" not in request.query_params:
            link = '</wiki/api/v2/pages?cursor=b&limit=250>; rel="next"'
            return JSONResponse({"results": [{"id": "1", "title": "One"}], "_links": {}}, headers={"Link": link})
        elsewhere = "https://elsewhere.example/wiki/api/v2/pages?cursor=c"
        return JSONResponse({"results": [{"id": "2", "title": "Two"}], "_links": {"next": elsewhere}})

    with serve_in_thread(Starlette(routes=[Route("/wiki/api/v2/pages", pages)]), lifespan="off") as base_url:
        async with connect(base_url=base_url) as connector:
            seen: list[str] = []

            async def follow() -> None:
                async for item in connector.listing({}):
                    seen.append(item.external_id)

            with pytest.raises(SourceUnavailable):
                await follow()

    assert seen == ["1", "2"]
