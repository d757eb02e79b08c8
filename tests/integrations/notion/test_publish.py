"""Summaries written back to a Notion page: one toggle a summary, found again rather than written twice."""

from __future__ import annotations

import pytest

from folio.integrations.connector import Item
from folio.integrations.errors import ItemGone
from tests.integrations.fakes.notion import FakeNotion, paragraph
from tests.integrations.notion.conftest import connected


def toggles(fake: FakeNotion, page: str) -> list[dict[str, object]]:
    return [fake.blocks[each] for each in fake.children.get(page, []) if fake.blocks[each]["type"] == "toggle"]


def texts(fake: FakeNotion, block_id: str) -> list[str]:
    return [
        "".join(item["plain_text"] for item in fake.blocks[each]["paragraph"]["rich_text"])
        for each in fake.children.get(block_id, [])
    ]


async def test_a_summary_is_a_toggle_with_the_title_the_tag_and_the_paragraphs(fake: FakeNotion) -> None:
    page = fake.add_page("Plan", blocks=[paragraph("The plan.")])

    async with connected(fake) as notion:
        published = await notion.publish(page, title="Summary", markdown="First point.\n\nSecond point.", marker="s-1")

    (toggle,) = toggles(fake, page)
    heading = toggle["toggle"]["rich_text"]  # type: ignore[index]
    assert "".join(item["plain_text"] for item in heading) == "Summary folio:s-1"
    assert heading[-1]["annotations"]["code"] is True
    assert texts(fake, str(toggle["id"])) == ["First point.", "Second point."]
    assert published.remote_id == toggle["id"]
    assert published.url == f"https://www.notion.so/{page.replace('-', '')}#{str(toggle['id']).replace('-', '')}"


async def test_publishing_again_with_the_same_marker_writes_nothing(fake: FakeNotion) -> None:
    page = fake.add_page("Plan", blocks=[paragraph(f"line {n}") for n in range(150)])

    async with connected(fake) as notion:
        first = await notion.publish(page, title="Summary", markdown="Words.", marker="s-1")
        fake.requests.clear()
        again = await notion.publish(page.replace("-", ""), title="Summary", markdown="Words.", marker="s-1")

    assert again == first
    assert len(toggles(fake, page)) == 1
    assert "PATCH" not in {call.method for call in fake.requests}


async def test_another_marker_is_another_summary(fake: FakeNotion) -> None:
    page = fake.add_page("Plan")

    async with connected(fake) as notion:
        first = await notion.publish(page, title="Summary", markdown="Old.", marker="s-1")
        second = await notion.publish(page, title="Summary", markdown="New.", marker="s-2")

    assert first.remote_id != second.remote_id
    assert len(toggles(fake, page)) == 2


async def test_a_long_summary_fits_notions_limits_in_one_append(fake: FakeNotion) -> None:
    page = fake.add_page("Plan")
    # 150 paragraphs, one of them 5,000 emoji (10,000 UTF-16 units): the fake refuses what Notion would.
    paragraphs = ["😀" * 5000, *(f"point {n}" for n in range(149))]

    async with connected(fake) as notion:
        await notion.publish(page, title="Summary", markdown="\n\n".join(paragraphs), marker="s-1")

    assert [call.method for call in fake.requests].count("PATCH") == 1
    (toggle,) = toggles(fake, page)
    written = texts(fake, str(toggle["id"]))
    assert len(written) == 100
    assert written[0] == "😀" * 5000
    assert written[-1] == "\n\n".join(f"point {n}" for n in range(98, 149))


async def test_the_summary_is_left_out_of_the_pages_body(fake: FakeNotion) -> None:
    page = fake.add_page("Plan", blocks=[paragraph("The plan.")])

    async with connected(fake) as notion:
        await notion.publish(page, title="Summary", markdown="Summary words.", marker="s-1")
        content = await notion.fetch(Item(external_id=page, title="Plan", version="v"))

    assert content.body.decode() == "# Plan\n\nThe plan.\n"


async def test_publishing_to_a_trashed_or_unshared_page_is_item_gone(fake: FakeNotion) -> None:
    trashed, unshared = fake.add_page("Old"), fake.add_page("Private")
    fake.delete_page(trashed)
    fake.unshare(unshared)

    async with connected(fake) as notion:
        for page in (trashed, unshared):
            with pytest.raises(ItemGone):
                await notion.publish(page, title="Summary", markdown="Words.", marker="s-1")

    assert "PATCH" not in {call.method for call in fake.requests}
