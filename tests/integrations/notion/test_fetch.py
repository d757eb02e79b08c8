"""A page's body as Markdown and its properties as metadata, and the bounds of a fetch."""

from __future__ import annotations

import pytest

from folio.integrations.connector import Content, Item
from folio.integrations.connectors.notion import MAX_BLOCKS, MAX_DEPTH, NotionConnector
from folio.integrations.errors import ItemGone, ItemTooLarge
from tests.integrations.fakes.notion import FakeNotion, block, paragraph, text
from tests.integrations.notion.conftest import connected

RICH = [
    text("Plain, "),
    text("bold", bold=True),
    text(" "),
    text("italic ", italic=True),
    text("and "),
    text("code", code=True),
    text(", "),
    text("gone", strikethrough=True),
    text(", "),
    text("a link", link="https://example.com/a"),
    text(" and "),
    {"type": "equation", "equation": {"expression": "E=mc^2"}},
    text("."),
]


def every_kind() -> list[dict[str, object]]:
    return [
        block("heading_1", rich_text=[text("Top")]),
        block("paragraph", rich_text=RICH),
        block("heading_2", rich_text=[text("Lists")]),
        block("bulleted_list_item", block("bulleted_list_item", rich_text=[text("nested")]), rich_text=[text("one")]),
        block("bulleted_list_item", rich_text=[text("two")]),
        block("numbered_list_item", rich_text=[text("first")]),
        block("numbered_list_item", block("numbered_list_item", rich_text=[text("inner")]), rich_text=[text("second")]),
        block("to_do", rich_text=[text("done")], checked=True),
        block("to_do", rich_text=[text("open")], checked=False),
        block("toggle", paragraph("hidden detail"), rich_text=[text("Details")]),
        block("heading_3", rich_text=[text("Other")]),
        block("quote", rich_text=[text("Said once")]),
        block("callout", rich_text=[text("Mind this")], icon={"type": "emoji", "emoji": "💡"}),
        block("code", rich_text=[text("print('```')\nx = 1")], language="python"),
        block("divider"),
        block(
            "table",
            block("table_row", cells=[[text("Name")], [text("Role")]]),
            block("table_row", cells=[[text("Ada")], [text("a|b")]]),
            table_width=2,
            has_column_header=True,
            has_row_header=False,
        ),
        block("bookmark", url="https://example.com/b", caption=[]),
        block("equation", expression="a^2+b^2=c^2"),
        block("child_database", title="Tasks"),
        block("image", type="external", external={"url": "https://example.com/i.png"}, caption=[text("Diagram")]),
        block("file", type="file", file={"url": "https://s3.example/x?sig=1", "expiry_time": "soon"}, caption=[]),
        block("ai_block", rich_text=[text("never shown")]),
        block("column_list", block("column", paragraph("left")), block("column", paragraph("right"))),
    ]


async def fetched(notion: NotionConnector, fake: FakeNotion, page_id: str) -> Content:
    page = fake.pages[page_id]
    item = Item(external_id=page_id, title=page["title"], version=page["last_edited_time"])
    return await notion.fetch(item)


async def test_every_supported_block_is_rendered_and_the_rest_skipped(fake: FakeNotion) -> None:
    page = fake.add_page("Guide", blocks=every_kind())
    database = fake.children[page][18]
    child = fake.add_page("Sub page", parent=page)
    url = f"https://www.notion.so/{page.replace('-', '')}"
    file_block = fake.children[page][20]

    async with connected(fake) as notion:
        content = await fetched(notion, fake, page)

    assert content.filename == f"{page}.md"
    assert content.body.decode() == "\n".join(
        [
            "# Guide",
            "",
            "## Top",
            "",
            "Plain, **bold** *italic* and `code`, ~~gone~~, [a link](https://example.com/a) and $E=mc^2$.",
            "",
            "### Lists",
            "",
            "- one",
            "  - nested",
            "- two",
            "1. first",
            "2. second",
            "   1. inner",
            "- [x] done",
            "- [ ] open",
            "- Details",
            "  hidden detail",
            "",
            "#### Other",
            "",
            "> Said once",
            "",
            "> 💡 Mind this",
            "",
            "````python",
            "print('```')",
            "x = 1",
            "````",
            "",
            "---",
            "",
            "| Name | Role |",
            "| --- | --- |",
            "| Ada | a\\|b |",
            "",
            "[https://example.com/b](https://example.com/b)",
            "",
            "$$",
            "a^2+b^2=c^2",
            "$$",
            "",
            f"[Tasks](https://www.notion.so/{database.replace('-', '')})",
            "",
            "![Diagram](https://example.com/i.png)",
            "",
            f"[file]({url}#{file_block.replace('-', '')})",
            "",
            "left",
            "",
            "right",
            "",
            f"[Sub page](https://www.notion.so/{child.replace('-', '')})",
            "",
        ]
    )


async def test_a_child_pages_body_is_not_read_into_its_parent(fake: FakeNotion) -> None:
    page = fake.add_page("Parent", blocks=[paragraph("parent words")])
    child = fake.add_page("Child", parent=page, blocks=[paragraph("child words")])

    async with connected(fake) as notion:
        body = (await fetched(notion, fake, page)).body.decode()

    assert "parent words" in body
    assert "child words" not in body
    assert f"/v1/blocks/{child}/children" not in {call.path for call in fake.calls()}


async def test_the_children_of_a_skipped_block_are_not_read(fake: FakeNotion) -> None:
    page = fake.add_page("P", blocks=[block("ai_block", paragraph("inside"), rich_text=[text("x")]), paragraph("kept")])
    skipped = fake.children[page][0]

    async with connected(fake) as notion:
        body = (await fetched(notion, fake, page)).body.decode()

    assert body == "# P\n\nkept\n"
    assert f"/v1/blocks/{skipped}/children" not in {call.path for call in fake.calls()}


async def test_a_table_without_a_header_row_gets_an_empty_one(fake: FakeNotion) -> None:
    rows = [block("table_row", cells=[[text("a")], [text("b")]]), block("table_row", cells=[[text("c")], []])]
    page = fake.add_page("T", blocks=[block("table", *rows, table_width=2, has_column_header=False)])

    async with connected(fake) as notion:
        body = (await fetched(notion, fake, page)).body.decode()

    assert body.endswith("|  |  |\n| --- | --- |\n| a | b |\n| c |  |\n")


async def test_a_synced_block_shows_its_originals_content(fake: FakeNotion) -> None:
    source = fake.add_page("Source", blocks=[block("synced_block", paragraph("shared words"), synced_from=None)])
    original = fake.children[source][0]
    page = fake.add_page("Copy", blocks=[block("synced_block", synced_from={"type": "block_id", "block_id": original})])
    # The reference itself has no children of its own in the API: they are the original's.
    async with connected(fake) as notion:
        assert "shared words" in (await fetched(notion, fake, page)).body.decode()
        fake.unshare(source)

        assert (await fetched(notion, fake, page)).body.decode() == "# Copy\n"


async def test_properties_become_bounded_metadata(fake: FakeNotion) -> None:
    database = fake.add_database("Tasks")
    properties = {
        "Status": {"id": "s", "type": "status", "status": {"id": "1", "name": "In progress", "color": "blue"}},
        "Tags": {"id": "t", "type": "multi_select", "multi_select": [{"name": f"tag{n}"} for n in range(30)]},
        "Kind": {"id": "k", "type": "select", "select": {"name": "Guide"}},
        "Empty select": {"id": "e", "type": "select", "select": None},
        "Due": {"id": "d", "type": "date", "date": {"start": "2026-01-02", "end": "2026-01-05", "time_zone": None}},
        "Owners": {"id": "o", "type": "people", "people": [{"object": "user", "id": "u1", "name": "Ada"}]},
        "Done": {"id": "c", "type": "checkbox", "checkbox": False},
        "Points": {"id": "n", "type": "number", "number": 3.5},
        "Link": {"id": "u", "type": "url", "url": "https://example.com"},
        "Notes": {"id": "r", "type": "rich_text", "rich_text": [text("x" * 900)]},
        "Related": {"id": "l", "type": "relation", "relation": [{"id": "abc"}]},
    }
    properties |= {f"Extra {n}": {"id": f"x{n}", "type": "checkbox", "checkbox": True} for n in range(60)}
    page = fake.add_page("Ship it", database=database, properties=properties)

    async with connected(fake) as notion:
        metadata = (await fetched(notion, fake, page)).metadata

    assert metadata["Name"] == "Ship it"
    assert metadata["Status"] == "In progress"
    assert metadata["Kind"] == "Guide"
    assert metadata["Tags"] == [f"tag{n}" for n in range(20)]
    assert metadata["Due"] == "2026-01-02/2026-01-05"
    assert metadata["Owners"] == ["Ada"]
    assert metadata["Done"] is False
    assert metadata["Points"] == 3.5
    assert metadata["Link"] == "https://example.com"
    assert metadata["Notes"] == "x" * 500
    assert "Empty select" not in metadata
    assert "Related" not in metadata
    assert len(metadata) == 40


async def test_unicode_survives_the_fetch(fake: FakeNotion) -> None:
    words = "中文段落 🎉 emoji 👩‍💻 and עברית מימין לשמאל"
    page = fake.add_page("Ünïcode 標題", blocks=[paragraph(words), block("heading_1", rich_text=[text("عنوان")])])

    async with connected(fake) as notion:
        body = (await fetched(notion, fake, page)).body.decode("utf-8")

    assert body == f"# Ünïcode 標題\n\n{words}\n\n## عنوان\n"


async def test_a_page_past_the_block_budget_keeps_its_first_blocks_and_says_so(fake: FakeNotion) -> None:
    page = fake.add_page("Long", blocks=[paragraph(f"line {n}") for n in range(MAX_BLOCKS + 150)])

    async with connected(fake) as notion:
        content = await fetched(notion, fake, page)

        assert notion.http.requests == 1 + MAX_BLOCKS // 100
    body = content.body.decode()
    assert f"line {MAX_BLOCKS - 1}\n" in body
    assert f"line {MAX_BLOCKS}\n" not in body
    assert content.metadata["notion_truncated"] is True


async def test_nesting_past_the_depth_bound_is_cut_and_said(fake: FakeNotion) -> None:
    nested = paragraph("deepest")
    for level in range(MAX_DEPTH + 2):
        nested = block("bulleted_list_item", nested, rich_text=[text(f"level {level}")])
    page = fake.add_page("Deep", blocks=[nested])
    # Built whole by the fake's own helper; through the API an append takes two levels at a time.
    async with connected(fake) as notion:
        content = await fetched(notion, fake, page)

    body = content.body.decode()
    assert f"level {MAX_DEPTH + 1}" in body
    assert "deepest" not in body
    assert content.metadata["notion_truncated"] is True


async def test_a_complete_page_says_nothing_of_truncation(fake: FakeNotion) -> None:
    page = fake.add_page("Short", blocks=[paragraph("all of it")])

    async with connected(fake) as notion:
        assert "notion_truncated" not in (await fetched(notion, fake, page)).metadata


async def test_an_answer_past_the_servers_size_cap_fails_the_item(fake: FakeNotion) -> None:
    page = fake.add_page("Huge", blocks=[paragraph("y" * 2000) for _ in range(60)])

    async with connected(fake, max_response_bytes=50_000) as notion:
        with pytest.raises(ItemTooLarge):
            await fetched(notion, fake, page)


async def test_a_page_gone_between_listing_and_fetch_is_item_gone(fake: FakeNotion) -> None:
    page = fake.add_page("Soon gone")
    item = Item(external_id=page, title="Soon gone", version="v")
    fake.pages.pop(page)

    async with connected(fake) as notion:
        with pytest.raises(ItemGone):
            await notion.fetch(item)
