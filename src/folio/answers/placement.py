"""Where a retrieved chunk lies in its document's content, so that a span of its text can be cited by page and by
offsets in the text `GET /api/v1/documents/{id}/content` serves."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from folio.ingestion.extracted import FileKind

# Only a PDF has pages; every other format is extracted as one page spanning the whole text, which no reader would
# call page 1.
PAGED_KINDS = frozenset({FileKind.PDF})


@dataclass(frozen=True, slots=True)
class Placement:
    """A chunk of the content of version `version`: its text begins at offset `start` of the content, on page
    `page_start`; pages `page_start + 1` … `page_end` begin at the offsets `page_breaks` of the chunk's text
    (None: not recorded, on a chunk written before they were). `paged` is false for a format without pages."""

    version: int
    start: int
    page_start: int
    page_end: int
    page_breaks: tuple[int, ...] | None
    paged: bool

    def pages(self, start: int, end: int) -> tuple[int | None, int | None]:
        """The page `chunk_text[start:end]` begins on, and the page it ends on when that is a later one (else None);
        both None when the document has no pages or the chunk's page breaks are unknown."""
        if not self.paged:
            return None, None
        if self.page_start == self.page_end:
            return self.page_start, None
        if self.page_breaks is None:
            return None, None
        first = self.page_start + bisect_right(self.page_breaks, start)
        last = self.page_start + bisect_right(self.page_breaks, max(end - 1, start))
        return first, last if last > first else None
