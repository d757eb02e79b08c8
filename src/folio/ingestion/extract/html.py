"""HTML through lexbor: page chrome and code are dropped, block elements become paragraphs."""

from __future__ import annotations

from pathlib import Path

from selectolax.lexbor import LexborHTMLParser, LexborNode

from folio.ingestion.extract._decode import decode, html_charset
from folio.ingestion.extract._normalise import clean_title, finish, heading, join_blocks, one_line
from folio.ingestion.extracted import ExtractedText
from folio.settings import IngestionSettings

_DROPPED = ["script", "style", "noscript", "nav", "footer", "template", "svg", "iframe"]
_HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt fieldset figcaption figure "
    "form header hgroup hr html legend li main menu ol p search section summary ul".split()
)


def extract_html(path: Path, limits: IngestionSettings) -> ExtractedText:
    raw = path.read_bytes()
    parser = LexborHTMLParser(decode(raw, declared=html_charset(raw)))
    parser.strip_tags(_DROPPED)
    root = parser.body or parser.root
    blocks = _Blocks()
    if root is not None:
        _walk(root, blocks)
    return ExtractedText.single_page(finish(join_blocks(blocks.done()), limits.max_chars), title=_title(parser))


def _title(parser: LexborHTMLParser) -> str | None:
    for selector in ("title", "h1"):
        node = parser.css_first(selector)
        if node is not None and (title := clean_title(node.text())):
            return title
    return None


class _Blocks:
    """Collects inline text into the current paragraph until a block boundary closes it."""

    def __init__(self) -> None:
        self._blocks: list[str] = []
        self._inline: list[str] = []

    def text(self, text: str) -> None:
        # A newline in the markup is only whitespace; "\n" in the buffer stands for <br>.
        self._inline.append(text.replace("\n", " "))

    def line_break(self) -> None:
        self._inline.append("\n")

    def close_paragraph(self) -> None:
        lines = (one_line(line) for line in "".join(self._inline).split("\n"))
        self._blocks.append("\n".join(line for line in lines if line))
        self._inline.clear()

    def block(self, text: str) -> None:
        self.close_paragraph()
        self._blocks.append(text)

    def done(self) -> list[str]:
        self.close_paragraph()
        return self._blocks


def _walk(root: LexborNode, blocks: _Blocks) -> None:
    # An explicit stack: hostile markup can nest deeper than Python's recursion limit.
    stack: list[tuple[LexborNode, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        tag = node.tag or ""
        if leaving:
            blocks.close_paragraph()
        elif tag == "-text":
            blocks.text(node.text_content or "")
        elif tag == "br":
            blocks.line_break()
        elif tag in _HEADING_LEVELS:
            blocks.block(heading(_HEADING_LEVELS[tag], node.text()))
        elif tag == "table":
            blocks.block(_table(node))
        elif tag == "pre":
            blocks.block(node.text())
        elif tag and not tag.startswith("-"):
            if tag in _BLOCKS:
                blocks.close_paragraph()
                stack.append((node, True))
            stack.extend((child, False) for child in reversed(list(node.iter(include_text=True))))


def _table(table: LexborNode) -> str:
    rows: list[str] = []
    for row in table.css("tr"):
        if _nearest_table(row) != table.mem_id:
            continue  # a nested table's row; its text is already in the enclosing cell
        cells = [one_line(cell.text()) for cell in row.iter() if cell.tag in ("td", "th")]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _nearest_table(node: LexborNode) -> int | None:
    parent = node.parent
    while parent is not None and parent.tag != "table":
        parent = parent.parent
    return parent.mem_id if parent is not None else None
