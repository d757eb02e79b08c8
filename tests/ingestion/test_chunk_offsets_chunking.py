"""Chunks know where their pages begin (issue 18, item 7): the breaks chunking records put every character of a
chunk on the page the extracted text has it on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from folio.embeddings.tokenizer import load_tokenizer
from folio.ingestion.chunking import chunk_text
from folio.ingestion.extracted import ExtractedText, PageSpan


@pytest.fixture(autouse=True, scope="module")
def _empty_tables() -> None:
    """These tests touch no database: stand in for the suite's table-cleaning fixture so none is started."""


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return load_tokenizer()


def page_of(breaks: tuple[int, ...] | list[int], page_start: int, offset: int) -> int:
    """The page of character `offset` of a chunk, by the rule `Chunk.page_breaks` documents."""
    return page_start + sum(1 for position in breaks if position <= offset)


def paged(pages: list[str]) -> ExtractedText:
    spans, start = [], 0
    for number, page in enumerate(pages, start=1):
        spans.append(PageSpan(number, start, start + len(page)))
        start += len(page)
    return ExtractedText("".join(pages), tuple(spans))


# Pages of a few sentences each (some of them empty, as a page without text extracts), joined as PDF pages are.
_PAGE = st.lists(
    st.sampled_from(["The tenant pays rent. ", "Heating is serviced yearly.\n", "A fee applies ", "of forty euros.\n"]),
    max_size=8,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(_PAGE, min_size=1, max_size=6).filter(lambda pages: "".join(pages).strip()))
def test_every_character_of_a_chunk_is_on_the_page_its_breaks_say(tokenizer: Tokenizer, pages: list[str]) -> None:
    extracted = paged([page + "\n\n" if page else page for page in pages])

    chunks = chunk_text(extracted, tokenizer=tokenizer, target_tokens=24, overlap_tokens=6)

    for chunk in chunks:
        assert len(chunk.page_breaks) == chunk.page_end - chunk.page_start
        assert list(chunk.page_breaks) == sorted(chunk.page_breaks)
        assert all(0 < position < len(chunk.text) for position in chunk.page_breaks)
        for offset in range(len(chunk.text)):
            page, _ = extracted.page_range(chunk.start + offset, chunk.start + offset + 1)
            assert page_of(chunk.page_breaks, chunk.page_start, offset) == page
