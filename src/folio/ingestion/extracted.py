"""What extraction produces and chunking consumes."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from enum import StrEnum


class FileKind(StrEnum):
    PDF = "pdf"
    DOCX = "docx"
    HTML = "html"
    MARKDOWN = "markdown"
    TEXT = "text"
    # A row of a record batch (folio.records): its text is stored, not extracted from a file.
    RECORD = "record"


@dataclass(frozen=True, slots=True)
class PageSpan:
    """Page `number` (1-based) is `text[start:end]` of its document."""

    number: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ExtractedText:
    """A document's text with its page boundaries.

    `text` is Markdown-flavoured plain text: headings are lines starting with `#`, paragraphs are separated by
    a blank line, table rows are lines of cells separated by ` | `. `pages` are contiguous, in order, and cover
    `[0, len(text))`; a format without pages has one page spanning the whole text.
    """

    text: str
    pages: tuple[PageSpan, ...]
    title: str | None = None
    # The language of `text` (ISO 639-1) once ingestion has detected it; None before, or when it could not be told.
    language: str | None = None
    _page_starts: list[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_page_starts", [page.start for page in self.pages])

    @classmethod
    def single_page(cls, text: str, title: str | None = None) -> ExtractedText:
        return cls(text=text, pages=(PageSpan(1, 0, len(text)),), title=title)

    def page_range(self, start: int, end: int) -> tuple[int, int]:
        """First and last page numbers touched by `text[start:end]` (end exclusive, end > start)."""
        first = self.pages[max(bisect.bisect_right(self._page_starts, start) - 1, 0)]
        last = self.pages[max(bisect.bisect_right(self._page_starts, max(end - 1, start)) - 1, 0)]
        return first.number, last.number
