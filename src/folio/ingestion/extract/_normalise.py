"""The text rules every extractor shares: one line-ending, no control characters, at most one blank line."""

from __future__ import annotations

import re
from collections.abc import Iterable

from folio.ingestion.errors import CorruptFile, TooMuchText

# Vertical tab and form feed separate lines (pages, in some exports) rather than being noise inside one.
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
# C0 and C1 controls except tab and newline, plus byte-order marks and non-characters left by bad decoding.
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff]")
_TRAILING_BLANKS = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINE_RUNS = re.compile(r"\n{3,}")


def normalise(text: str) -> str:
    """`text` with "\\n" line endings, no control characters, no trailing blanks and no run of 3+ newlines."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROLS.sub("", text)
    text = _TRAILING_BLANKS.sub("", text)
    text = _BLANK_LINE_RUNS.sub("\n\n", text)
    return text.strip("\n")


def one_line(text: str) -> str:
    """`text` with every run of whitespace, line breaks included, turned into one space."""
    return " ".join(_CONTROLS.sub("", text).split())


def heading(level: int, text: str) -> str:
    """A Markdown heading line, or nothing for a heading without text."""
    text = one_line(text)
    return f"{'#' * level} {text}" if text else ""


# Titles that authoring tools write when the author gave none.
_PLACEHOLDER_TITLES = {"untitled", "untitled document", "document", "microsoft word document"}


def clean_title(title: str | None) -> str | None:
    cleaned = one_line(title or "")
    return cleaned if cleaned and cleaned.lower() not in _PLACEHOLDER_TITLES else None


def join_blocks(blocks: Iterable[str]) -> str:
    """Paragraphs, headings and tables, one blank line between each."""
    return "\n\n".join(block for block in blocks if block.strip())


def check_length(length: int, max_chars: int) -> None:
    if length > max_chars:
        raise TooMuchText(f"The document has more than {max_chars} characters of text.")


def finish(text: str, max_chars: int) -> str:
    """The normalised text of a single-page document, refused if it is empty or too long."""
    text = normalise(text)
    if not text.strip():
        raise CorruptFile("The document contains no text.")
    check_length(len(text), max_chars)
    return text
