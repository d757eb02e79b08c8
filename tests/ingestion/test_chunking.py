"""Token-aware, structure-aware chunking (folio.ingestion.chunking)."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from folio.embeddings.tokenizer import load_tokenizer
from folio.ingestion.chunking import Chunk, chunk_text
from folio.ingestion.extracted import ExtractedText, PageSpan


@pytest.fixture(autouse=True, scope="module")
def _empty_tables() -> None:
    """These tests touch no database: stand in for the suite's table-cleaning fixture so none is started."""


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return load_tokenizer()


def paged(*pages: str) -> ExtractedText:
    """The pages' texts joined, each page's span ending where the next begins."""
    spans, start = [], 0
    for number, page in enumerate(pages, start=1):
        spans.append(PageSpan(number, start, start + len(page)))
        start += len(page)
    return ExtractedText("".join(pages), tuple(spans))


def pages_touched(extracted: ExtractedText, start: int, end: int) -> list[int]:
    return [page.number for page in extracted.pages if page.start < end and start < page.end]


def assert_chunk_rules(extracted: ExtractedText, chunks: list[Chunk], tokenizer: Tokenizer, target: int) -> None:
    text = extracted.text
    covered = [False] * len(text)
    for position, chunk in enumerate(chunks):
        assert chunk.index == position
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text.strip()
        assert chunk.token_count == len(tokenizer.encode(chunk.text, add_special_tokens=False).ids)
        assert chunk.token_count <= target
        touched = pages_touched(extracted, chunk.start, chunk.end)
        assert (chunk.page_start, chunk.page_end) == (touched[0], touched[-1])
        covered[chunk.start : chunk.end] = [True] * (chunk.end - chunk.start)
    assert all(earlier.start < later.start for earlier, later in pairwise(chunks))
    assert all(earlier.end < later.end for earlier, later in pairwise(chunks))
    uncovered = "".join(character for character, seen in zip(text, covered, strict=True) if not seen)
    assert not uncovered.strip()


def sentences(count: int, topic: str) -> str:
    return " ".join(f"Sentence {number} about the {topic} records a short fact." for number in range(count))


def test_empty_and_blank_texts_have_no_chunks(tokenizer: Tokenizer) -> None:
    # \x1c-\x1f are whitespace to Python but not to the splitter's trimming.
    for text in ["", " ", "\n\n \t\n", "\u3000\u00a0", "\x1c\x1d\x1e\x1f"]:
        assert (
            chunk_text(ExtractedText.single_page(text), tokenizer=tokenizer, target_tokens=64, overlap_tokens=8) == []
        )


def test_overlap_must_be_smaller_than_the_target(tokenizer: Tokenizer) -> None:
    with pytest.raises(ValueError, match="overlap_tokens"):
        chunk_text(ExtractedText.single_page("text"), tokenizer=tokenizer, target_tokens=32, overlap_tokens=32)


@pytest.mark.parametrize("overlap", [-1, -64])
def test_a_negative_overlap_is_a_value_error(tokenizer: Tokenizer, overlap: int) -> None:
    # Not the OverflowError the splitter raises when a negative number reaches its unsigned parameter.
    with pytest.raises(ValueError, match="overlap_tokens"):
        chunk_text(ExtractedText.single_page("text"), tokenizer=tokenizer, target_tokens=32, overlap_tokens=overlap)


def test_offsets_are_python_string_indices_in_non_ascii_text(tokenizer: Tokenizer) -> None:
    paragraph = "Le café — ünïcode 日本語 naïve façade 東京 Zürich. " * 6
    extracted = ExtractedText.single_page("# Überblick\n\n" + "\n\n".join([paragraph] * 5))

    chunks = chunk_text(extracted, tokenizer=tokenizer, target_tokens=48, overlap_tokens=8)

    assert len(chunks) > 5
    assert chunks[-1].end == len(extracted.text.rstrip())
    assert_chunk_rules(extracted, chunks, tokenizer, 48)


def test_long_text_stays_within_the_token_target(tokenizer: Tokenizer) -> None:
    extracted = ExtractedText.single_page("\n\n".join(sentences(30, f"topic {n}") for n in range(8)))

    chunks = chunk_text(extracted, tokenizer=tokenizer, target_tokens=100, overlap_tokens=16)

    assert len(chunks) > 10
    assert max(chunk.token_count for chunk in chunks) > 80  # chunks are filled, not merely bounded
    assert_chunk_rules(extracted, chunks, tokenizer, 100)


SECTIONS = [
    f"## Section {n}\n\nThe first paragraph of section {n} is about topic {n}. It has two sentences.\n\n"
    f"The second paragraph of section {n} continues."
    for n in range(5)
]
SECTIONED = "# Handbook\n\n" + "\n\n".join(SECTIONS)


def test_sections_that_fit_are_never_split(tokenizer: Tokenizer) -> None:
    extracted = ExtractedText.single_page(SECTIONED)

    chunks = chunk_text(extracted, tokenizer=tokenizer, target_tokens=40, overlap_tokens=0)

    # Each section fits in 40 tokens but two do not: one chunk per section, the title joining the first.
    assert [chunk.text for chunk in chunks] == ["# Handbook\n\n" + SECTIONS[0], *SECTIONS[1:]]


def test_small_sections_are_merged_and_cut_only_at_headings(tokenizer: Tokenizer) -> None:
    extracted = ExtractedText.single_page(SECTIONED)
    heading_starts = {SECTIONED.index(section) for section in SECTIONS}
    section_ends = {SECTIONED.index(section) + len(section) for section in SECTIONS}

    chunks = chunk_text(extracted, tokenizer=tokenizer, target_tokens=64, overlap_tokens=0)

    assert len(chunks) < len(SECTIONS)
    assert {chunk.start for chunk in chunks[1:]} <= heading_starts
    assert {chunk.end for chunk in chunks} <= section_ends


def test_a_section_too_long_for_one_chunk_is_cut_between_paragraphs(tokenizer: Tokenizer) -> None:
    paragraphs = [sentences(3, f"paragraph {n}") for n in range(6)]
    text = "## Long section\n\n" + "\n\n".join(paragraphs)
    extracted = ExtractedText.single_page(text)

    chunks = chunk_text(extracted, tokenizer=tokenizer, target_tokens=64, overlap_tokens=0)

    assert len(chunks) > 2
    assert {chunk.start for chunk in chunks[1:]} <= {text.index(paragraph) for paragraph in paragraphs}


def test_chunks_report_the_pages_they_touch(tokenizer: Tokenizer) -> None:
    first, second, third = (f"{sentences(4, f'page {n}')}\n\n{sentences(4, f'page {n} again')}\n\n" for n in (1, 2, 3))
    extracted = paged(first, second, third)
    crossing = paged(first + sentences(2, "end of page one") + " ", sentences(2, "start of page two"))

    chunks = chunk_text(extracted, tokenizer=tokenizer, target_tokens=64, overlap_tokens=0)
    crossing_chunks = chunk_text(crossing, tokenizer=tokenizer, target_tokens=200, overlap_tokens=0)

    on_page_two = [chunk for chunk in chunks if "page 2" in chunk.text]
    assert on_page_two
    assert all((chunk.page_start, chunk.page_end) == (2, 2) for chunk in on_page_two)
    assert {(chunk.page_start, chunk.page_end) for chunk in chunks} == {(1, 1), (2, 2), (3, 3)}
    assert (crossing_chunks[-1].page_start, crossing_chunks[-1].page_end) == (1, 2)
    assert_chunk_rules(extracted, chunks, tokenizer, 64)
    assert_chunk_rules(crossing, crossing_chunks, tokenizer, 200)


def test_overlap_repeats_text_across_a_cut_and_zero_overlap_does_not(tokenizer: Tokenizer) -> None:
    extracted = ExtractedText.single_page(sentences(40, "archive"))

    overlapping = chunk_text(extracted, tokenizer=tokenizer, target_tokens=64, overlap_tokens=24)
    disjoint = chunk_text(extracted, tokenizer=tokenizer, target_tokens=64, overlap_tokens=0)

    pairs = list(pairwise(overlapping))
    assert pairs
    assert all(later.start < earlier.end for earlier, later in pairs)
    assert all(later.start >= earlier.end for earlier, later in pairwise(disjoint))
    assert len(overlapping) > len(disjoint)


_WORD = st.text(
    alphabet=st.one_of(
        st.characters(categories=["L", "N"], exclude_characters="\x00"),
        st.sampled_from("éüñçßøå日本語東京中文한국어абвгдεζηθ"),
    ),
    min_size=1,
    max_size=10,
)
_SENTENCE = st.builds(
    lambda words, stop: " ".join(words) + stop,
    st.lists(_WORD, min_size=1, max_size=15),
    st.sampled_from([".", "!", "?", ",", "", " —", ":"]),
)
_PARAGRAPH = st.lists(_SENTENCE, min_size=1, max_size=6).map(" ".join)
_HEADING = st.builds(
    lambda level, words: "#" * level + " " + " ".join(words), st.integers(1, 4), st.lists(_WORD, min_size=1, max_size=5)
)
_LIST = st.lists(_SENTENCE, min_size=1, max_size=4).map(lambda items: "\n".join(f"- {item}" for item in items))
_BLOCK = st.one_of(_HEADING, _PARAGRAPH, _PARAGRAPH, _LIST)
_SEPARATOR = st.sampled_from(["\n\n", "\n", "\n\n\n", " \n\n", "\n\u00a0\n", "\n\u3000\n\n"])


@st.composite
def documents(draw: st.DrawFn) -> ExtractedText:
    blocks = draw(st.lists(_BLOCK, min_size=1, max_size=12))
    separators = draw(st.lists(_SEPARATOR, min_size=len(blocks), max_size=len(blocks)))
    text = draw(st.sampled_from(["", "\n", "  "])) + "".join(b + s for b, s in zip(blocks, separators, strict=True))
    cuts = sorted(draw(st.sets(st.integers(1, max(len(text) - 1, 1)), max_size=5)) - {len(text)})
    bounds = [0, *cuts, len(text)]
    return ExtractedText(text, tuple(PageSpan(n, a, b) for n, (a, b) in enumerate(pairwise(bounds), 1)))


@settings(max_examples=50, deadline=None)
@given(extracted=documents(), target=st.sampled_from([16, 32, 64, 128]), overlap_share=st.sampled_from([0, 4, 2]))
def test_chunk_rules_hold_for_any_markdown(extracted: ExtractedText, target: int, overlap_share: int) -> None:
    tokenizer = load_tokenizer()
    overlap = target // overlap_share if overlap_share else 0

    chunks = chunk_text(extracted, tokenizer=tokenizer, target_tokens=target, overlap_tokens=overlap)

    assert_chunk_rules(extracted, chunks, tokenizer, target)


def test_a_chunk_ending_exactly_at_a_page_boundary_stays_on_its_page(tokenizer: Tokenizer) -> None:
    # Page one ends on its last letter and page two starts with the blank line, so the cut falls on the boundary.
    first, second, third = sentences(4, "page one"), "\n\n" + sentences(4, "page two"), "\n\n" + sentences(4, "three")
    extracted = paged(first, second, third)
    boundaries = {page.end for page in extracted.pages}

    chunks = chunk_text(extracted, tokenizer=tokenizer, target_tokens=64, overlap_tokens=0)

    assert [chunk.text for chunk in chunks] == [first, second.strip(), third.strip()]
    assert {chunk.end for chunk in chunks} == boundaries  # each chunk's end is the next page's start
    assert [(chunk.page_start, chunk.page_end) for chunk in chunks] == [(1, 1), (2, 2), (3, 3)]
    assert_chunk_rules(extracted, chunks, tokenizer, 64)
