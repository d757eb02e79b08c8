"""The listing, the check and the failures: what a sync sees of a Notion workspace."""

from __future__ import annotations

import math

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from folio.integrations.connector import Item
from folio.integrations.connectors.notion import NotionConfig, NotionConnector
from folio.integrations.errors import CredentialsRejected, ItemGone, SourceRefused, SourceUnavailable
from tests.integrations.fakes.notion import TOKEN, FakeNotion, block, paragraph, text
from tests.integrations.notion.conftest import connected
from tests.live_server import serve_in_thread


async def listed(notion: NotionConnector, known: dict[str, str] | None = None) -> dict[str, Item]:
    return {item.external_id: item async for item in notion.listing(known or {})}


async def test_the_listing_pages_through_every_shared_page_reading_no_body(fake: FakeNotion) -> None:
    ids = fake.seed(250)

    async with connected(fake) as notion:
        items = await listed(notion)

        assert set(items) == set(ids)
        assert notion.http.requests == math.ceil(250 / 100)
    assert [call.path for call in fake.calls()] == ["/v1/search"] * 3
    first = items[ids[0]]
    assert first.title == "Page 0"
    assert first.version == fake.pages[ids[0]]["last_edited_time"]
    assert first.url == f"https://www.notion.so/{ids[0].replace('-', '')}"
    assert first.updated_at is not None
    assert first.content is None


async def test_a_workspace_of_5000_pages_is_listed_in_50_requests(fake: FakeNotion) -> None:
    ids = fake.seed(5000)

    async with connected(fake) as notion:
        assert set(await listed(notion)) == set(ids)
        assert notion.http.requests == 50


async def test_a_source_repeating_its_cursor_fails_the_listing_rather_than_looping() -> None:
    async def search(request: Request) -> JSONResponse:
        page = {"object": "page", "id": "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9", "last_edited_time": "x"}
        return JSONResponse({"object": "list", "results": [page], "next_cursor": "same", "has_more": True})

    stuck = FakeNotion()
    with serve_in_thread(Starlette(routes=[Route("/v1/search", search, methods=["POST"])])) as base_url:
        stuck.base_url = base_url
        async with connected(stuck) as notion:
            with pytest.raises(SourceUnavailable):
                await listed(notion)

            assert notion.http.requests == 2


async def test_a_listing_with_nothing_changed_makes_only_the_listings_requests(fake: FakeNotion) -> None:
    fake.seed(230)
    async with connected(fake) as notion:
        before = await listed(notion)
    fake.requests.clear()

    async with connected(fake) as notion:
        after = await listed(notion, {key: item.version for key, item in before.items()})

        assert notion.http.requests == 3
    assert {key: item.version for key, item in after.items()} == {key: item.version for key, item in before.items()}


async def test_an_edit_moves_the_version_of_that_page_only(fake: FakeNotion) -> None:
    edited, untouched = fake.seed(2)
    async with connected(fake) as notion:
        before = await listed(notion)
        fake.edit_page(edited, blocks=[paragraph("New words.")])
        after = await listed(notion)

    assert after[edited].version != before[edited].version
    assert after[untouched].version == before[untouched].version


async def test_a_title_edit_shows_in_the_listing(fake: FakeNotion) -> None:
    (page,) = fake.seed(1)
    fake.edit_page(page, title="Renamed")

    async with connected(fake) as notion:
        assert (await listed(notion))[page].title == "Renamed"


async def test_a_trashed_page_leaves_the_listing_and_its_fetch_says_gone(fake: FakeNotion) -> None:
    trashed, kept = fake.seed(2)
    async with connected(fake) as notion:
        item = (await listed(notion))[trashed]
        fake.delete_page(trashed)

        assert set(await listed(notion)) == {kept}
        with pytest.raises(ItemGone):
            await notion.fetch(item)


async def test_an_unshared_page_leaves_the_listing_and_its_fetch_says_gone(fake: FakeNotion) -> None:
    unshared, kept = fake.seed(2)
    async with connected(fake) as notion:
        item = (await listed(notion))[unshared]
        fake.unshare(unshared)

        assert set(await listed(notion)) == {kept}
        with pytest.raises(ItemGone):
            await notion.fetch(item)


async def test_pages_scope_holds_the_pages_and_every_page_under_them(fake: FakeNotion) -> None:
    root = fake.add_page("Handbook", blocks=[block("toggle", rich_text=[text("More")])])
    toggle = fake.children[root][0]
    child = fake.add_page("Onboarding", parent=root)
    grandchild = fake.add_page("First week", parent=child)
    in_toggle = fake.add_page("Tucked away", in_block=toggle)
    under_it = fake.add_page("Deeper", parent=in_toggle)
    fake.add_page("Elsewhere")
    other = fake.add_page("Other tree")
    fake.add_page("Other child", parent=other)
    # The root is edited last, so the search meets its descendants before it.
    fake.edit_page(root, title="Handbook 2")

    async with connected(fake, NotionConfig(page_ids=[root.replace("-", "")])) as notion:
        items = await listed(notion)

        assert set(items) == {root, child, grandchild, in_toggle, under_it}
        # One search, and one look at the toggle holding a page; never a page's blocks.
        assert notion.http.requests == 2
    assert [call.path for call in fake.calls()] == ["/v1/search", f"/v1/blocks/{toggle}"]


async def test_a_page_moved_out_of_the_scoped_tree_leaves_the_listing_with_its_children(fake: FakeNotion) -> None:
    root = fake.add_page("Handbook")
    moved = fake.add_page("Moved", parent=root)
    below = fake.add_page("Below moved", parent=moved)
    stays = fake.add_page("Stays", parent=root)
    outside = fake.add_page("Archive")

    async with connected(fake, NotionConfig(page_ids=[root])) as notion:
        assert set(await listed(notion)) == {root, moved, below, stays}
        fake.move_page(moved, parent=outside)

        assert set(await listed(notion)) == {root, stays}


async def test_database_scope_lists_the_databases_pages_only(fake: FakeNotion) -> None:
    wiki = fake.add_database("Wiki")
    other = fake.add_database("Tasks")
    pages = fake.seed(130, database=wiki)
    fake.seed(3, database=other)
    fake.seed(2)

    async with connected(fake, NotionConfig(database_ids=[wiki])) as notion:
        assert set(await listed(notion)) == set(pages)
        assert notion.http.requests == 2
    assert {call.path for call in fake.calls()} == {f"/v1/databases/{wiki}/query"}


async def test_a_page_moved_to_another_database_leaves_the_listing(fake: FakeNotion) -> None:
    wiki, archive = fake.add_database("Wiki"), fake.add_database("Archive")
    moved, kept = fake.seed(2, database=wiki)

    async with connected(fake, NotionConfig(database_ids=[wiki])) as notion:
        fake.move_page(moved, database=archive)

        assert set(await listed(notion)) == {kept}


async def test_pages_and_databases_together_list_each_page_once(fake: FakeNotion) -> None:
    root = fake.add_page("Team")
    wiki = fake.add_database("Wiki", parent=root)
    row = fake.add_page("Row", database=wiki)
    child = fake.add_page("Notes", parent=root)

    async with connected(fake, NotionConfig(page_ids=[root], database_ids=[wiki])) as notion:
        items = [item.external_id async for item in notion.listing({})]

    assert sorted(items) == sorted([root, child, row])


async def test_a_database_that_is_not_shared_fails_the_listing(fake: FakeNotion) -> None:
    wiki = fake.add_database("Wiki")
    fake.seed(2, database=wiki)
    fake.unshare(wiki)

    async with connected(fake, NotionConfig(database_ids=[wiki])) as notion:
        with pytest.raises(SourceRefused) as refused:
            await listed(notion)

    assert refused.value.status == 404


async def test_the_listing_stops_at_max_items(fake: FakeNotion) -> None:
    fake.seed(250)

    async with connected(fake, max_items=120) as notion:
        assert len(await listed(notion)) == 120
        assert notion.http.requests == 2


async def test_a_page_edited_while_the_listing_pages_through_is_still_listed(fake: FakeNotion) -> None:
    ids = fake.seed(150)

    async with connected(fake) as notion:
        seen: list[str] = []
        async for item in notion.listing({}):
            seen.append(item.external_id)
            if len(seen) == 100:
                # A page the listing has not reached yet is edited between two of its requests.
                fake.edit_page(next(each for each in ids if each not in seen))

    assert sorted(seen) == sorted(ids)


async def test_a_rate_limited_call_is_tried_again_after_retry_after(fake: FakeNotion) -> None:
    fake.seed(3)
    fake.rate_limit_next(1, retry_after=1)

    async with connected(fake) as notion:
        assert len(await listed(notion)) == 3
        assert notion.http.requests == 2


async def test_check_names_the_workspace(fake: FakeNotion) -> None:
    fake.workspace_name = "Ünïcode 工作区"
    async with connected(fake) as notion:
        assert await notion.check() == "Notion workspace Ünïcode 工作区"
    assert [call.path for call in fake.calls()] == ["/v1/users/me"]


async def test_a_wrong_token_fails_the_check_without_showing_the_token(fake: FakeNotion) -> None:
    wrong = "secret_wrongNotionTokenX9"
    async with connected(fake, token=wrong) as notion:
        with pytest.raises(CredentialsRejected) as rejected:
            await notion.check()

    assert wrong not in str(rejected.value)
    assert wrong not in repr(rejected.value.details)


async def test_a_revoked_token_fails_listing_and_fetch_without_showing_the_token(fake: FakeNotion) -> None:
    (page,) = fake.seed(1)
    async with connected(fake) as notion:
        item = (await listed(notion))[page]
        fake.revoke()

        with pytest.raises(CredentialsRejected) as in_listing:
            await listed(notion)
        with pytest.raises(CredentialsRejected) as in_fetch:
            await notion.fetch(item)

    for error in (in_listing.value, in_fetch.value):
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error.details)


async def test_unicode_titles_survive_the_listing(fake: FakeNotion) -> None:
    title = "会议记录 📝 — שלום עולם"
    page = fake.add_page(title)

    async with connected(fake) as notion:
        assert (await listed(notion))[page].title == title


async def test_a_very_long_title_is_cut(fake: FakeNotion) -> None:
    page = fake.add_page("t" * 2000)

    async with connected(fake) as notion:
        assert (await listed(notion))[page].title == "t" * 500
