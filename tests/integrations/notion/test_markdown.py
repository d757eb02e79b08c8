"""The rules of the rendering that hold whatever the page: inline styling, and a summary within Notion's limits."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from folio.integrations.connectors.notion_markdown import (
    MAX_TEXT_UNITS,
    carries,
    is_summary,
    plain_text,
    rich_text,
    summary_block,
)


def item(content: str, href: str | None = None, **annotations: bool) -> dict[str, Any]:
    return {"type": "text", "plain_text": content, "href": href, "annotations": annotations}


def test_neighbours_with_one_style_are_styled_once_and_spaces_stay_outside() -> None:
    items = [item("very ", bold=True), item("bold ", bold=True), item("then plain")]

    assert rich_text(items) == "**very bold** then plain"


def test_a_link_wraps_its_styled_text() -> None:
    assert rich_text([item("docs", "https://example.com", italic=True)]) == "[*docs*](https://example.com)"


def test_code_holding_backticks_gets_a_longer_fence() -> None:
    assert rich_text([item("a`b", code=True)]) == "`` a`b ``"


def test_whitespace_only_styled_text_is_left_plain() -> None:
    assert rich_text([item("a"), item("  ", bold=True), item("b")]) == "a  b"


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@given(st.text(min_size=1, max_size=30_000), st.text(min_size=1, max_size=50))
def test_a_summary_keeps_its_text_within_notions_limits(markdown: str, marker: str) -> None:
    toggle = summary_block("Summary", markdown, marker)
    paragraphs = toggle["toggle"]["children"]

    assert 0 < len(paragraphs) <= 100 or not markdown.strip()
    for paragraph in paragraphs:
        pieces = paragraph["paragraph"]["rich_text"]
        assert len(pieces) <= 100
        assert all(units(piece["text"]["content"]) <= MAX_TEXT_UNITS for piece in pieces)
    written = [
        plain_text([{"plain_text": p["text"]["content"]} for p in x["paragraph"]["rich_text"]]) for x in paragraphs
    ]
    assert "".join("".join(written).split()) == "".join(markdown.split())


def test_a_summary_is_recognised_by_its_marker() -> None:
    toggle = summary_block("Summary", "words", "s-1")
    answered = {
        "type": "toggle",
        "toggle": {
            "rich_text": [
                {"plain_text": piece["text"]["content"], "annotations": piece.get("annotations", {})}
                for piece in toggle["toggle"]["rich_text"]
            ]
        },
    }

    assert is_summary(answered)
    assert carries(answered, "s-1")
    assert not carries(answered, "s-2")
    assert not is_summary({"type": "toggle", "toggle": {"rich_text": [item("folio:s-1")]}})
