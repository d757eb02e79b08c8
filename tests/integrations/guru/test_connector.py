"""The Guru connector against the fake Guru over real HTTP: the listing's pages and requests, the cards as HTML with
what Guru says of them, versions, deletions and scope, rate limits, revoked tokens, unicode and size."""

from __future__ import annotations

import base64
import math
from collections.abc import Awaitable
from datetime import UTC, datetime

import pytest

from folio.integrations.connector import Item
from folio.integrations.connectors.guru import GuruConfig
from folio.integrations.errors import (
    CredentialsRejected,
    InvalidIntegrationConfig,
    ItemGone,
    ItemTooLarge,
    SourceUnavailable,
)
from tests.integrations.fakes.guru import USER_EMAIL, USER_TOKEN, FakeGuru, fake_id
from tests.integrations.guru.conftest import Connect, listed

PAGE = 50
TRUSTED_ONLY = {
    "type": "grouping",
    "op": "AND",
    "nestedExpressions": [{"type": "trust-state", "verificationState": "TRUSTED", "op": "EQ"}],
}


async def test_the_listing_follows_the_link_header_through_every_page(fake: FakeGuru, connect: Connect) -> None:
    ids = fake.seed(120)
    async with connect() as guru:
        items = await listed(guru)
    assert [item.external_id for item in items] == ids
    searches = fake.calls("/search/cardmgr")
    assert len(searches) == 3
    assert "token" not in searches[0].query
    assert all(call.query["token"] for call in searches[1:])
    assert all(call.method == "POST" and call.body == {"collectionIds": [], "query": None} for call in searches)


@pytest.mark.parametrize("count", [1, 50, 51, 237])
async def test_an_unchanged_sync_makes_the_listing_requests_alone(fake: FakeGuru, connect: Connect, count: int) -> None:
    fake.seed(count)
    async with connect() as guru:
        first = await listed(guru)
        fake.requests.clear()
        again = await listed(guru, {item.external_id: item.version for item in first})
    assert len(again) == count
    assert all(item.content is None for item in again)
    assert len(fake.requests) == math.ceil(count / PAGE)
    assert fake.calls("/search/cardmgr") == fake.requests


async def test_thousands_of_cards_in_pages_larger_than_guru_s_are_taken_whole(fake: FakeGuru, connect: Connect) -> None:
    fake.page_size = 1000
    ids = fake.seed(5000)
    async with connect() as guru:
        items = await listed(guru)
    assert [item.external_id for item in items] == ids
    assert len(fake.requests) == 5


async def test_the_listing_hands_over_a_changed_card_as_html(fake: FakeGuru, connect: Connect) -> None:
    card = fake.add_card("Refunds / returns", "<p>Within <b>30 days</b>.</p>")
    async with connect() as guru:
        [item] = await listed(guru)
    assert item.external_id == card
    assert item.title == "Refunds / returns"
    assert item.url == f"https://app.getguru.com/card/{card[-8:]}/Refunds-returns"
    assert item.updated_at == datetime(2026, 1, 5, 9, 0, 1, tzinfo=UTC)
    assert item.content is not None
    assert item.content.filename == "Refunds - returns.html"
    html = item.content.body.decode()
    assert "<title>Refunds / returns</title>" in html
    assert "<p>Within <b>30 days</b>.</p>" in html
    assert len(fake.requests) == 1


async def test_fetch_renders_tables_lists_and_code_with_what_guru_says_of_the_card(
    fake: FakeGuru, connect: Connect
) -> None:
    content = (
        "<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Pro</td><td>$10</td></tr></table>"
        "<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>"
        "<pre><code>if (a &lt; b) { return; }</code></pre>"
    )
    card = fake.add_card("Pricing <2026> & plans", content, boards=["Sales", "Onboarding"], tags=["pricing", "plans"])
    async with connect() as guru:
        [item] = await listed(guru)
        fetched = await guru.fetch(item)
    assert len(fake.calls(f"/cards/{card}/extended")) == 1
    html = fetched.body.decode()
    assert "<title>Pricing &lt;2026&gt; &amp; plans</title>" in html
    assert content in html
    assert fetched.metadata == {
        "collection": "General",
        "collection_id": fake.general,
        "verification_state": "TRUSTED",
        "verifiers": ["Grace Hopper"],
        "last_verified": "2026-01-05T09:00:01.000+0000",
        "last_verified_by": "Grace Hopper",
        "owner": "Ada Lovelace",
        "boards": ["Sales", "Onboarding"],
        "tags": ["pricing", "plans"],
    }
    assert fetched == item.content


async def test_a_group_verifier_and_the_reason_to_verify_are_kept(fake: FakeGuru, connect: Connect) -> None:
    fake.add_card("Escalations", trusted=False, group_verifier="Support leads")
    async with connect() as guru:
        [item] = await listed(guru)
    assert item.content is not None
    metadata = item.content.metadata
    assert metadata["verifiers"] == ["Support leads"]
    assert metadata["verification_state"] == "NEEDS_VERIFICATION"
    assert metadata["verification_reason"] == "NEW_VERIFIER"
    assert "last_verified" not in metadata


async def test_an_edit_changes_the_card_s_version_alone(fake: FakeGuru, connect: Connect) -> None:
    edited, untouched = fake.add_card("Refunds"), fake.add_card("Shipping")
    async with connect() as guru:
        before = {item.external_id: item.version for item in await listed(guru)}
        fake.edit(edited, content="<p>Within 60 days.</p>", by_verifier=True)
        after = {item.external_id: item for item in await listed(guru, before)}
    changed = after[edited]
    assert changed.version != before[edited]
    assert changed.content is not None
    assert b"60 days" in changed.content.body
    assert after[untouched].version == before[untouched]
    assert after[untouched].content is None


async def test_verification_changes_the_version_though_guru_keeps_the_revision(
    fake: FakeGuru, connect: Connect
) -> None:
    card = fake.add_card("Refunds", trusted=False)
    async with connect() as guru:
        [pending] = await listed(guru)
        fake.verify(card)
        [verified] = await listed(guru)
        fake.unverify(card)
        [expired] = await listed(guru)
    assert pending.updated_at == verified.updated_at == expired.updated_at
    assert len({pending.version, verified.version, expired.version}) == 3
    assert verified.content is not None
    assert expired.content is not None
    assert verified.content.metadata["verification_state"] == "TRUSTED"
    assert expired.content.metadata["verification_reason"] == "EXPIRED"


async def test_a_deleted_card_leaves_the_listing_and_its_fetch_is_item_gone(fake: FakeGuru, connect: Connect) -> None:
    kept, deleted = fake.add_card("Kept"), fake.add_card("Deleted")
    async with connect() as guru:
        items = {item.external_id: item for item in await listed(guru)}
        fake.delete(deleted)
        assert [item.external_id for item in await listed(guru)] == [kept]
        with pytest.raises(ItemGone):
            await guru.fetch(items[deleted])
        with pytest.raises(ItemGone):
            await guru.fetch(Item(external_id=fake_id(2, 999), title="Never", version="1"))


async def test_a_card_moved_out_of_the_chosen_collections_leaves(fake: FakeGuru, connect: Connect) -> None:
    sales = fake.add_collection("Sales")
    staying, moving = fake.add_card("Staying"), fake.add_card("Moving")
    fake.add_card("Sales deck", collection_id=sales)
    async with connect(GuruConfig(collection_ids=[fake.general])) as guru:
        items = {item.external_id: item for item in await listed(guru)}
        assert set(items) == {staying, moving}
        fake.move(moving, sales)
        assert [item.external_id for item in await listed(guru)] == [staying]
        with pytest.raises(ItemGone):
            await guru.fetch(items[moving])
    assert fake.calls("/search/cardmgr")[0].body == {"collectionIds": [fake.general], "query": None}


async def test_a_move_between_chosen_collections_changes_the_version(fake: FakeGuru, connect: Connect) -> None:
    sales = fake.add_collection("Sales")
    card = fake.add_card("Deck")
    async with connect(GuruConfig(collection_ids=[fake.general, sales])) as guru:
        [before] = await listed(guru)
        fake.move(card, sales)
        [after] = await listed(guru, {card: before.version})
    assert after.version != before.version
    assert after.content is not None
    assert after.content.metadata["collection"] == "Sales"


async def test_verified_only_asks_guru_for_trusted_cards(fake: FakeGuru, connect: Connect) -> None:
    trusted = fake.add_card("Trusted")
    fake.add_card("Pending", trusted=False)
    async with connect(GuruConfig(verified_only=True)) as guru:
        [item] = await listed(guru)
        assert item.external_id == trusted
        fake.unverify(trusted)
        assert await listed(guru) == []
        with pytest.raises(ItemGone):
            await guru.fetch(item)
    assert fake.calls("/search/cardmgr")[0].body == {"collectionIds": [], "query": TRUSTED_ONLY}


async def test_a_rate_limited_page_is_asked_again_after_retry_after(fake: FakeGuru, connect: Connect) -> None:
    ids = fake.seed(60)
    fake.rate_limit_next(1, retry_after=1)
    async with connect() as guru:
        listing = guru.listing({})
        received = [await anext(listing)]
        fake.rate_limit_next(1, retry_after=1)
        received += [item async for item in listing]
    assert [item.external_id for item in received] == ids
    searches = fake.calls("/search/cardmgr")
    assert len(searches) == 4
    assert "token" not in searches[1].query
    assert searches[2].query == searches[3].query


async def test_a_retry_after_longer_than_the_server_waits_fails_the_listing(fake: FakeGuru, connect: Connect) -> None:
    fake.seed(3)
    fake.rate_limit_next(1, retry_after=120)
    async with connect(max_wait_seconds=5) as guru:
        with pytest.raises(SourceUnavailable):
            await listed(guru)
    assert len(fake.requests) == 1


async def test_a_revoked_token_is_credentials_rejected(fake: FakeGuru, connect: Connect) -> None:
    fake.add_card("Refunds")
    async with connect() as guru:
        [item] = await listed(guru)
        fake.revoke()
        with pytest.raises(CredentialsRejected):
            await listed(guru)
        with pytest.raises(CredentialsRejected):
            await guru.fetch(item)
        with pytest.raises(CredentialsRejected):
            await guru.check()


async def test_unicode_titles_and_content_survive(fake: FakeGuru, connect: Connect) -> None:
    title = "退款政策 🚀 سياسة الاسترداد"
    content = "<p>日本語のテキスト、絵文字 😀👍🏽 と עברית: שלום עולם</p>"
    fake.add_card(title, content)
    async with connect() as guru:
        [item] = await listed(guru)
        fetched = await guru.fetch(item)
    assert item.title == title
    assert item.content is not None
    assert item.content.filename == f"{title}.html"
    for body in (item.content.body, fetched.body):
        html = body.decode("utf-8")
        assert f"<title>{title}</title>" in html
        assert content in html


async def test_a_card_larger_than_the_server_stores_is_item_too_large(fake: FakeGuru, connect: Connect) -> None:
    fake.add_card("Small")
    huge = fake.add_card("Huge", "<p>" + "x" * 300_000 + "</p>")
    async with connect(max_bytes=128 * 1024) as guru:
        with pytest.raises(ItemTooLarge):
            await guru.fetch(Item(external_id=huge, title="Huge", version="1"))
        # Guru's pages carry the cards' content: the page holding it is past the cap as well.
        with pytest.raises(ItemTooLarge):
            await listed(guru)


async def test_the_listing_stops_at_max_items(fake: FakeGuru, connect: Connect) -> None:
    ids = fake.seed(120)
    async with connect(max_items=70) as guru:
        items = await listed(guru)
    assert [item.external_id for item in items] == ids[:70]
    assert len(fake.requests) == 2


async def test_a_next_page_on_another_host_is_not_asked_for(fake: FakeGuru, connect: Connect, base_url: str) -> None:
    fake.seed(60)
    # The same server under another name: reachable, but not the host the credentials were meant for.
    fake.next_page_base = base_url.replace("127.0.0.1", "localhost")
    async with connect() as guru:
        with pytest.raises(SourceUnavailable):
            await listed(guru)
    assert len(fake.requests) == 1


async def test_check_names_the_team_and_the_collections_in_scope(fake: FakeGuru, connect: Connect) -> None:
    fake.add_collection("Sales")
    async with connect() as guru:
        assert await guru.check() == "team Acme Support, 2 collections"
    async with connect(GuruConfig(collection_ids=[fake.general])) as guru:
        assert await guru.check() == "team Acme Support, 1 collection"
    assert [call.path for call in fake.requests[:2]] == ["/api/v1/teams", "/api/v1/collections"]


async def test_check_refuses_collections_the_credentials_do_not_see(fake: FakeGuru, connect: Connect) -> None:
    unseen = fake_id(1, 77)
    async with connect(GuruConfig(collection_ids=[fake.general, unseen])) as guru:
        with pytest.raises(InvalidIntegrationConfig) as refused:
            await guru.check()
    assert refused.value.details == {"collection_ids": [unseen]}


async def test_check_fails_on_a_wrong_token(fake: FakeGuru, connect: Connect) -> None:
    async with connect(token="not-the-token") as guru:
        with pytest.raises(CredentialsRejected):
            await guru.check()


async def test_a_collection_token_sees_its_collection_alone(fake: FakeGuru, connect: Connect) -> None:
    sales = fake.add_collection("Sales")
    fake.add_card("General card")
    sales_card = fake.add_card("Sales card", collection_id=sales)
    async with connect(username=sales, token=fake.collection_token(sales)) as guru:
        assert await guru.check() == "team Acme Support, 1 collection"
        assert [item.external_id for item in await listed(guru)] == [sales_card]


async def test_the_token_never_appears_in_an_error(fake: FakeGuru, connect: Connect) -> None:
    card = fake.add_card("Refunds")
    fake.seed(60)
    errors: list[Exception] = []
    async with connect(GuruConfig(collection_ids=[fake_id(1, 77)])) as guru:
        errors.append(await _raised(guru.check()))
    async with connect() as guru:
        fake.rate_limit_next(1, retry_after=120)
        errors.append(await _raised(listed(guru)))
        fake.next_page_base = "http://guru.attacker.example"
        errors.append(await _raised(listed(guru)))
        fake.delete(card)
        errors.append(await _raised(guru.fetch(Item(external_id=card, title="Refunds", version="1"))))
        fake.revoke()
        errors.append(await _raised(listed(guru)))
    basic = base64.b64encode(f"{USER_EMAIL}:{USER_TOKEN}".encode()).decode()
    assert len(errors) == 5
    for error in errors:
        described = f"{error} {error!r} {getattr(error, 'details', '')}"
        assert USER_TOKEN not in described
        assert basic not in described


async def _raised(awaitable: Awaitable[object]) -> Exception:
    try:
        await awaitable
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")
