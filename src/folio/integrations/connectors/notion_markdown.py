"""Notion's blocks as Markdown, a page's properties as metadata, and a summary as the blocks that carry it back.

Text is not escaped: our Markdown extractor keeps the text as it is, so an escape would end up in the chunks and in
search; only table cells escape the pipe that would split them. Headings move one level down, under the page's
title (`# Title`, then Notion's heading 1 as `##`). Files Notion hosts link to their place in the page, not to their
own URL, which expires within the hour. A summary Folio wrote back to the page (a toggle tagged `folio:<marker>`) is
left out: it was made from the page, and reading it back would feed the page's summary to itself.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from folio.integrations.connectors._json import mapping

TAG_PREFIX = "folio:"
MAX_PROPERTIES = 40
MAX_VALUE_CHARS = 500
MAX_LIST_VALUES = 20
# Notion's limits on what an append carries: characters of one rich text item (counted in UTF-16 units, as
# JavaScript counts them), items of one array.
MAX_TEXT_UNITS = 2000
MAX_ARRAY_ITEMS = 100
MAX_SUMMARY_CHARS = 100_000

_CONTAINERS = frozenset({"column_list", "column", "synced_block", "template"})
_LIST_ITEMS = frozenset({"bulleted_list_item", "numbered_list_item", "to_do", "toggle"})
_HEADINGS = {"heading_1": "##", "heading_2": "###", "heading_3": "####"}
_LINKS = frozenset({"bookmark", "embed", "link_preview"})
_FILES = frozenset({"image", "file", "pdf", "video", "audio"})
_BACKTICKS = re.compile(r"`+")
# The blocks whose children are rendered, so the only ones whose children are read. Not among them: a child page
# (an item of its own), a child database (its pages are items), and the types skipped.
NESTING = _CONTAINERS | _LIST_ITEMS | _HEADINGS.keys() | {"paragraph", "quote", "callout", "table"}


@dataclass(slots=True)
class Block:
    """A block as the API answered it, with the children read for it."""

    data: dict[str, Any]
    children: list[Block] = field(default_factory=list)

    @property
    def type(self) -> str:
        return str(self.data.get("type", ""))

    @property
    def value(self) -> dict[str, Any]:
        return mapping(self.data.get(self.type))


def notion_url(object_id: str) -> str:
    """The link Notion resolves for any page or database id."""
    return f"https://www.notion.so/{object_id.replace('-', '')}"


def plain_text(items: Any) -> str:
    if not isinstance(items, list):
        return ""
    return "".join(str(item.get("plain_text", "")) for item in items if isinstance(item, dict))


def rich_text(items: Any) -> str:
    """Rich text as inline Markdown; neighbours with the same styling and link are styled once."""
    if not isinstance(items, list):
        return ""
    parts: list[str] = []
    for style, group in itertools.groupby((item for item in items if isinstance(item, dict)), key=_style):
        segments = list(group)
        if style is None:
            parts.extend(f"${_equation(segment)}$" for segment in segments)
        else:
            parts.append(_styled("".join(str(segment.get("plain_text", "")) for segment in segments), *style))
    return "".join(parts)


def _style(item: dict[str, Any]) -> tuple[bool, bool, bool, bool, str | None] | None:
    if item.get("type") == "equation":
        return None
    annotations = mapping(item.get("annotations"))
    href = item.get("href")
    return (
        bool(annotations.get("code")),
        bool(annotations.get("bold")),
        bool(annotations.get("italic")),
        bool(annotations.get("strikethrough")),
        href if isinstance(href, str) and href else None,
    )


def _equation(item: dict[str, Any]) -> str:
    equation = item.get("equation")
    return str(equation.get("expression", "")) if isinstance(equation, dict) else str(item.get("plain_text", ""))


def _styled(text: str, code: bool, bold: bool, italic: bool, strikethrough: bool, href: str | None) -> str:
    # Emphasis markers must touch the text they wrap ("** x **" is not bold), so surrounding spaces stay outside.
    core = text.strip()
    if not core:
        return text
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    if code:
        fence = "`" * (max((len(run) for run in _BACKTICKS.findall(core)), default=0) + 1)
        core = f"{fence} {core} {fence}" if len(fence) > 1 else f"`{core}`"
    for marker, applies in (("~~", strikethrough), ("*", italic), ("**", bold)):
        if applies:
            core = f"{marker}{core}{marker}"
    if href:
        core = f"[{core}]({href})"
    return f"{lead}{core}{trail}"


def render_page(title: str, blocks: list[Block], page_url: str | None) -> str:
    lines = [f"# {title}", ""] if title else []
    lines.extend(_render(blocks, page_url))
    return "\n".join(lines).rstrip() + "\n"


def _render(blocks: Iterable[Block], page_url: str | None) -> list[str]:
    lines: list[str] = []
    number = 0
    previous = ""
    for block in blocks:
        number = number + 1 if block.type == "numbered_list_item" else 0
        rendered = _block(block, number, page_url)
        if not rendered:
            continue
        if lines and not (block.type in _LIST_ITEMS and previous in _LIST_ITEMS):
            lines.append("")
        lines.extend(rendered)
        previous = block.type
    return lines


def _block(block: Block, number: int, page_url: str | None) -> list[str]:
    kind, value = block.type, block.value
    text = rich_text(value.get("rich_text"))
    children = _render(block.children, page_url)
    if kind == "paragraph":
        return [text, *([""] if text and children else []), *children] if text or children else []
    if kind in _HEADINGS:
        return [f"{_HEADINGS[kind]} {text}", *([""] + children if children else [])]
    if kind == "bulleted_list_item":
        return _item("- ", text, children)
    if kind == "numbered_list_item":
        return _item(f"{number}. ", text, children)
    if kind == "to_do":
        return _item("- [x] " if value.get("checked") else "- [ ] ", text, children)
    if kind == "toggle":
        return [] if is_summary(block.data) else _item("- ", text, children)
    if kind in ("quote", "callout"):
        icon = value.get("icon") if kind == "callout" else None
        emoji = icon.get("emoji") if isinstance(icon, dict) else None
        quoted = [f"{emoji} {text}" if emoji else text, *([""] + children if children else [])]
        return [f"> {line}".rstrip() for line in "\n".join(quoted).split("\n")]
    if kind == "code":
        return _code(value)
    if kind == "divider":
        return ["---"]
    if kind == "equation":
        return ["$$", str(value.get("expression", "")), "$$"]
    if kind == "table":
        return _table(block)
    if kind in _LINKS:
        url = str(value.get("url", ""))
        return [f"[{plain_text(value.get('caption')) or url}]({url})"] if url else []
    if kind in ("child_page", "child_database"):
        return [f"[{value.get('title') or 'Untitled'}]({notion_url(str(block.data.get('id', '')))})"]
    if kind == "link_to_page":
        target = value.get(str(value.get("type", "")))
        return [f"[{notion_url(target)}]({notion_url(target)})"] if isinstance(target, str) else []
    if kind in _FILES:
        return _file(block, page_url)
    if kind in _CONTAINERS:
        return children
    return []


def _item(marker: str, text: str, children: list[str]) -> list[str]:
    indent = " " * len(marker)
    first, *rest = text.split("\n")
    nested = [f"{indent}{line}" if line else "" for line in rest + children]
    return [f"{marker}{first}".rstrip(), *nested]


def _code(value: dict[str, Any]) -> list[str]:
    content = plain_text(value.get("rich_text"))
    fence = "`" * max(3, max((len(run) + 1 for run in _BACKTICKS.findall(content)), default=0))
    language = str(value.get("language") or "")
    language = "" if language == "plain text" else language.replace(" ", "-")
    caption = plain_text(value.get("caption"))
    return [f"{fence}{language}", *content.split("\n"), fence, *(["", caption] if caption else [])]


def _table(block: Block) -> list[str]:
    rows = [
        [_cell(cell) for cell in row.value.get("cells", []) if isinstance(cell, list)]
        for row in block.children
        if row.type == "table_row"
    ]
    if not rows:
        return []
    width = max(int(block.value.get("table_width") or 0), *(len(row) for row in rows), 1)
    rows = [row + [""] * (width - len(row)) for row in rows]
    # Markdown tables need a header row: a table without one gets an empty header, not its first row promoted.
    header = rows.pop(0) if block.value.get("has_column_header") else [""] * width
    return [_row(header), _row(["---"] * width), *(_row(row) for row in rows)]


def _cell(items: list[Any]) -> str:
    return rich_text(items).replace("|", "\\|").replace("\n", " ")


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _file(block: Block, page_url: str | None) -> list[str]:
    value = block.value
    label = plain_text(value.get("caption")) or str(value.get("name") or block.type)
    hosted = value.get("type") == "file"
    if hosted:
        url = f"{page_url}#{str(block.data.get('id', '')).replace('-', '')}" if page_url else None
    else:
        external = value.get("external")
        url = str(external.get("url")) if isinstance(external, dict) and external.get("url") else None
    if url is None:
        return [label]
    return [f"![{label}]({url})" if block.type == "image" and not hosted else f"[{label}]({url})"]


def page_title(page: dict[str, Any]) -> str:
    properties = page.get("properties")
    if isinstance(properties, dict):
        for prop in properties.values():
            if isinstance(prop, dict) and prop.get("type") == "title":
                return plain_text(prop.get("title")).strip()
    return ""


def page_metadata(properties: Any) -> dict[str, Any]:
    """The properties a person can filter on, bounded: at most `MAX_PROPERTIES`, strings cut at
    `MAX_VALUE_CHARS`, lists at `MAX_LIST_VALUES`; types without a short value (relations, rollups, files) left out."""
    metadata: dict[str, Any] = {}
    if not isinstance(properties, dict):
        return metadata
    for name, prop in properties.items():
        if len(metadata) >= MAX_PROPERTIES:
            break
        value = _property(prop) if isinstance(prop, dict) else None
        if value is not None and value != "" and value != []:
            metadata[str(name)[:100]] = value
    return metadata


def _property(prop: dict[str, Any]) -> Any:
    kind = prop.get("type")
    value = prop.get(str(kind))
    if kind in ("title", "rich_text"):
        return plain_text(value)[:MAX_VALUE_CHARS]
    if kind in ("select", "status"):
        return _name(value)
    if kind == "multi_select":
        return _names(value)
    if kind == "people":
        return _names(value)
    if kind in ("created_by", "last_edited_by"):
        return _name(value)
    if kind == "date":
        return _date(value)
    if kind == "checkbox":
        return bool(value)
    if kind == "number":
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if kind in ("url", "email", "phone_number", "created_time", "last_edited_time"):
        return str(value)[:MAX_VALUE_CHARS] if isinstance(value, str) else None
    if kind == "formula" and isinstance(value, dict):
        return _property({"type": value.get("type"), **value})
    return None


def _name(value: Any) -> str | None:
    name = value.get("name") if isinstance(value, dict) else None
    return str(name)[:MAX_VALUE_CHARS] if name else None


def _names(values: Any) -> list[str]:
    if not isinstance(values, list):
        return []
    return [name[:100] for name in (_name(value) for value in values) if name][:MAX_LIST_VALUES]


def _date(value: Any) -> str | None:
    if not isinstance(value, dict) or not value.get("start"):
        return None
    return f"{value['start']}/{value['end']}" if value.get("end") else str(value["start"])


def is_summary(block: dict[str, Any]) -> bool:
    """A toggle Folio wrote: its title ends with the tag, a code-styled `folio:<marker>`."""
    return _tag(block) is not None


def _tag(block: dict[str, Any]) -> str | None:
    toggle = block.get("toggle") if block.get("type") == "toggle" else None
    items = toggle.get("rich_text") if isinstance(toggle, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[-1], dict):
        return None
    last = items[-1]
    text = str(last.get("plain_text", ""))
    annotations = mapping(last.get("annotations"))
    return text if text.startswith(TAG_PREFIX) and annotations.get("code") else None


def carries(block: dict[str, Any], marker: str) -> bool:
    return _tag(block) == TAG_PREFIX + marker


def summary_block(title: str, markdown: str, marker: str) -> dict[str, Any]:
    """One toggle holding the summary as paragraphs, within Notion's limits so that a single append writes all of
    it (a summary half-written by a failed second request would pass, at the retry, for a whole one)."""
    text = markdown.strip()
    if len(text) > MAX_SUMMARY_CHARS:
        text = text[:MAX_SUMMARY_CHARS].rstrip() + "…"
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", text) if part.strip()]
    if len(paragraphs) > MAX_ARRAY_ITEMS:
        paragraphs[MAX_ARRAY_ITEMS - 1 :] = ["\n\n".join(paragraphs[MAX_ARRAY_ITEMS - 1 :])]
    heading = [_text(_pieces(title.strip() or "Summary")[0]), _text(" "), _text(TAG_PREFIX + marker, code=True)]
    children = [
        {"object": "block", "type": "paragraph", "paragraph": {"rich_text": [_text(piece) for piece in _pieces(part)]}}
        for part in paragraphs
    ]
    return {"object": "block", "type": "toggle", "toggle": {"rich_text": heading, "children": children}}


def _text(content: str, *, code: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "text", "text": {"content": content}}
    if code:
        item["annotations"] = {"code": True, "color": "gray"}
    return item


def _pieces(text: str) -> list[str]:
    """`text` cut into pieces of at most `MAX_TEXT_UNITS` UTF-16 units, never inside a character."""
    pieces: list[str] = []
    start = units = 0
    for index, char in enumerate(text):
        size = 2 if ord(char) > 0xFFFF else 1
        if units + size > MAX_TEXT_UNITS:
            pieces.append(text[start:index])
            start, units = index, 0
        units += size
    pieces.append(text[start:])
    return pieces
