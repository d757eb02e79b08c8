"""The parts of exact citations that need no server: pages of a span of a chunk, a citation without a known place,
citations stored before quotes had pages, and sentences that run across a page break."""

from __future__ import annotations

from uuid import UUID

import pytest

from folio.answers.citations import citation, cite
from folio.answers.placement import Placement
from folio.answers.schemas import Citation, SourceRead
from folio.llm.extractive import split_sentences


@pytest.fixture(autouse=True, scope="module")
def _empty_tables() -> None:
    """These tests touch no database: stand in for the suite's table-cleaning fixture so none is started."""


# A chunk of pages 4 to 7 starting at offset 1000 of the content: page 5 begins at 10 of its text, page 6 has no
# text (it begins where page 7 does), page 7 begins at 30.
TEXT = "a" * 10 + "b" * 20 + "d" * 10
FOUR_TO_SEVEN = Placement(version=2, start=1000, page_start=4, page_end=7, page_breaks=(10, 30, 30), paged=True)


@pytest.mark.parametrize(
    ("start", "end", "pages"),
    [
        (0, 10, (4, None)),
        (0, 11, (4, 5)),
        (10, 30, (5, None)),
        (29, 31, (5, 7)),
        (30, 40, (7, None)),
        (0, 40, (4, 7)),
    ],
)
def test_a_span_is_on_the_pages_its_characters_are_on(start: int, end: int, pages: tuple[int, int | None]) -> None:
    assert FOUR_TO_SEVEN.pages(start, end) == pages


def test_pages_are_unknown_rather_than_guessed() -> None:
    unknown = Placement(version=1, start=0, page_start=1, page_end=3, page_breaks=None, paged=True)
    one_page = Placement(version=1, start=0, page_start=2, page_end=2, page_breaks=None, paged=True)
    markdown = Placement(version=1, start=0, page_start=1, page_end=1, page_breaks=(), paged=False)

    assert unknown.pages(5, 9) == (None, None)
    assert one_page.pages(5, 9) == (2, None)
    assert markdown.pages(5, 9) == (None, None)


def source(text: str, placement: Placement | None) -> SourceRead:
    found = SourceRead(
        marker=1, chunk_id=UUID(int=1), document_id=UUID(int=2), document_title="t", page_start=4, page_end=7, text=text
    )
    return found.placed(placement)


def test_a_citation_counts_its_offsets_in_the_content() -> None:
    cited = citation(source(TEXT, FOUR_TO_SEVEN), 28, 32)

    assert (cited.quote, cited.start_char, cited.end_char, cited.document_version) == ("bbdd", 1028, 1032, 2)
    assert (cited.page, cited.page_end) == (5, 7)


def test_a_passage_whose_chunk_is_gone_is_quoted_without_a_place() -> None:
    cited = citation(source(TEXT, None), 28, 32)

    assert cited.quote == "bbdd"
    assert (cited.page, cited.page_end, cited.start_char, cited.end_char, cited.document_version) == (None,) * 5


def test_a_claim_citing_an_unknown_marker_cites_nothing() -> None:
    assert cite("Something true [7].", [source("Something true here.", FOUR_TO_SEVEN)]) == []


def test_a_citation_stored_before_quotes_had_pages_still_reads() -> None:
    stored = {
        "marker": 1,
        "chunk_id": str(UUID(int=1)),
        "document_id": str(UUID(int=2)),
        "document_title": "t",
        "source_url": None,
        "page": 2,
        "page_end": 2,
        "quote": "An old quote.",
    }

    cited = Citation.model_validate(stored)

    assert (cited.page, cited.page_end, cited.start_char, cited.end_char) == (2, None, None, None)
    assert Citation.model_validate({**stored, "page_end": 3}).page_end == 3


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_a_sentence_cut_by_a_page_break_stays_one() -> None:
    text = "The rent is due on the\nfirst day of each\n\nmonth by bank transfer. Nothing else."

    assert sentences(text) == ["The rent is due on the\nfirst day of each\n\nmonth by bank transfer.", "Nothing else."]


@pytest.mark.parametrize(
    "text",
    [
        "The first paragraph ends here.\n\nlower-case text starts another.",
        "Terms follow:\n\nthe tenant pays the rent.",
        "A paragraph without a stop\n\nThe next one starts in upper case.",
        "# A heading\n\nlower-case text under it.",
        "| a | table row |\n\ncontinued text in lower case.",
        "- a list item\n\n- another item in lower case",
    ],
)
def test_a_blank_line_still_ends_a_finished_paragraph(text: str) -> None:
    assert len(split_sentences(text)) == 2
