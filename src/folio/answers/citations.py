"""Citations: every passage an answer quotes, with the page it is on and its offsets in the document's content.

A quote is always a span of its source chunk that Folio cut itself (the extractive engine's sentences; for a
generated answer, the sentence of the cited source that best matches the claim), never text to be searched for
afterwards: its offsets follow from the chunk's own, and are left out rather than guessed when those are unknown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from folio.answers.schemas import Citation, SourceRead
from folio.llm.extractive import content_terms, split_sentences, term_overlap

_MARKERS = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def citation(source: SourceRead, start: int, end: int) -> Citation:
    """The citation of `source.text[start:end]`."""
    placement = source.placement
    page, page_end = placement.pages(start, end) if placement else (None, None)
    return Citation(
        marker=source.marker,
        chunk_id=source.chunk_id,
        document_id=source.document_id,
        document_title=source.document_title,
        source_url=source.source_url,
        page=page,
        page_end=page_end,
        quote=source.text[start:end],
        start_char=None if placement is None else placement.start + start,
        end_char=None if placement is None else placement.start + end,
        document_version=None if placement is None else placement.version,
    )


def cite(text: str, sources: Sequence[SourceRead]) -> list[Citation]:
    """The passages a generated answer cites: for each of its sentences that cites `[n]`, the sentence of source n
    sharing the most words with it. One citation per passage, in the order the answer first cites them."""
    by_marker = {source.marker: source for source in sources}
    cited: dict[tuple[int, int, int], Citation] = {}
    for start, end in split_sentences(text, headings=False):
        claim = text[start:end]
        for group in _MARKERS.findall(claim):
            for marker in (int(number) for number in group.split(",")):
                source = by_marker.get(marker)
                if source is None:
                    continue
                span = _best_span(source.text, claim)
                if (marker, *span) not in cited:
                    cited[(marker, *span)] = citation(source, *span)
    return list(cited.values())


def _best_span(source: str, claim: str) -> tuple[int, int]:
    terms = content_terms(_MARKERS.sub(" ", claim))
    spans = split_sentences(source) or [(0, len(source))]
    return max(spans, key=lambda span: term_overlap(terms, source[span[0] : span[1]]))
