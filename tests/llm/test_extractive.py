"""The offline extractive answer engine and its sentence splitting (folio.llm.extractive), on the real MiniLM."""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from folio.embeddings.local import LocalMiniLM
from folio.embeddings.provider import Embeddings
from folio.llm.extractive import (
    MAX_SENTENCE_CHARS,
    MODEL,
    NO_ANSWER,
    ExtractiveAnswer,
    ExtractiveEngine,
    Sentence,
    Source,
    content_terms,
    split_sentences,
    term_overlap,
)
from folio.settings import EmbeddingSettings

# A small library on unrelated subjects; each answerable question below is answered by one sentence of one source.
LIBRARY = [
    "Returns and refunds\n"
    "Items can be returned within 30 days of delivery. Refunds are issued to the original payment method within 14 "
    "days of receiving the return. Sale items cannot be returned. Shipping costs for returns are paid by the customer "
    "unless the item arrived damaged.",
    "Acme Robotics was founded in 1987 by Dr. Ada Moreno in Lisbon. The company builds warehouse robots and sells them "
    "in twelve countries. Maria Lopez has been chief executive officer since 2019. Its headquarters moved to Porto in "
    "2005.",
    "Security policy\n"
    "Passwords must be at least 12 characters long and are rotated every 90 days. Two-factor authentication is "
    "required for all administrators. Laptops must use full-disk encryption. Security incidents are reported to the "
    "security team within 24 hours.",
    "Mars is the fourth planet from the Sun. It has two small moons, Phobos and Deimos. A day on Mars lasts 24 hours "
    "and 37 minutes. Its surface is red because of iron oxide in the dust.",
    "The 2023 annual report\n"
    "Revenue grew to 4.2 million euros in 2023, up 18 percent from the year before. Headcount reached 140 employees. "
    "Operating costs rose mainly because of the new Porto warehouse. The board proposed a dividend of 0.15 euros per "
    "share.",
    "Sourdough bread needs a starter of flour and water that has fermented for several days. The dough rises slowly, "
    "often overnight in the fridge. Bake it at 250 degrees Celsius in a covered pot for the first 20 minutes. Let the "
    "loaf cool for an hour before slicing.",
    "The warranty covers parts and labour for two years from the date of purchase. It does not cover damage caused by "
    "misuse or accidents. To make a claim, contact support with the serial number and proof of purchase.",
    "The platform stores all data in PostgreSQL with the pgvector extension. Files are kept in an S3-compatible object "
    "store. Background jobs run on a Redis-backed queue. The API is written in Python with FastAPI.",
]
SOURCES = [Source(marker, text) for marker, text in enumerate(LIBRARY, start=1)]

# The calibration of DEFAULT_MIN_RELEVANCE: (question, marker of the answering source, the answering sentence).
ANSWERABLE = [
    ("How long do refunds take?", 1, "Refunds are issued to the original payment method within 14 days"),
    ("Can sale items be returned?", 1, "Sale items cannot be returned."),
    ("Who founded Acme Robotics?", 2, "Acme Robotics was founded in 1987 by Dr. Ada Moreno in Lisbon."),
    ("Who is the CEO?", 2, "Maria Lopez has been chief executive officer since 2019."),
    ("How long must passwords be?", 3, "Passwords must be at least 12 characters long"),
    ("How many moons does Mars have?", 4, "It has two small moons, Phobos and Deimos."),
    ("What was the revenue in 2023?", 5, "Revenue grew to 4.2 million euros in 2023"),
    ("How many employees does the company have?", 5, "Headcount reached 140 employees."),
    ("At what temperature should sourdough be baked?", 6, "Bake it at 250 degrees Celsius"),
    ("Does the warranty cover accidental damage?", 7, "It does not cover damage caused by misuse or accidents."),
    ("Which database does the platform use?", 8, "The platform stores all data in PostgreSQL"),
]
UNANSWERABLE = [
    "What is the capital of Australia?",
    "Who won the 1998 football World Cup?",
    "How do I change a flat tyre?",
    "What is the melting point of gold?",
    "Who painted the Mona Lisa?",
    "When did the Roman Empire fall?",
    "What is the parental leave policy?",
    "Who is the head of marketing?",
]


@pytest.fixture(autouse=True, scope="module")
def _empty_tables() -> None:
    """These tests touch no database: stand in for the suite's table-cleaning fixture so none is started."""


class CountingEmbedder:
    """The real model, with a record of the calls made to it."""

    def __init__(self, model: LocalMiniLM) -> None:
        self.model = model.model
        self.dimension = model.dimension
        self._inner = model
        self.calls: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        self.calls.append(list(texts))
        return await self._inner.embed(texts)

    async def close(self) -> None:
        await self._inner.close()


@pytest.fixture(scope="module")
def minilm() -> LocalMiniLM:
    return LocalMiniLM(EmbeddingSettings())


@pytest.fixture
def embedder(minilm: LocalMiniLM) -> CountingEmbedder:
    return CountingEmbedder(minilm)


@pytest.fixture
def engine(embedder: CountingEmbedder) -> ExtractiveEngine:
    return ExtractiveEngine(embedder)


def texts(text: str, **options: bool) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text, **options)]


def assert_cites_exact_spans(answer: ExtractiveAnswer, sources: Sequence[Source]) -> None:
    by_marker = {source.marker: source.text for source in sources}
    for sentence in answer.sentences:
        assert " ".join(by_marker[sentence.marker][sentence.start : sentence.end].split()) == sentence.text


# --- splitting -----------------------------------------------------------------------------------------------------


def test_abbreviations_initials_and_decimals_do_not_end_sentences() -> None:
    text = (
        "Dr. Smith moved to the U.S. in 1990 with J. R. Tolkien's books. He paid $3.50, i.e. about 3.2 euros, "
        "for coffee at No. 5 Main Street. See Fig. 2 for details. The answer is no. Really? Yes!"
    )

    assert texts(text) == [
        "Dr. Smith moved to the U.S. in 1990 with J. R. Tolkien's books.",
        "He paid $3.50, i.e. about 3.2 euros, for coffee at No. 5 Main Street.",
        "See Fig. 2 for details.",
        "The answer is no.",
        "Really?",
        "Yes!",
    ]


def test_quotes_and_brackets_after_the_full_stop_stay_with_the_sentence() -> None:
    assert texts('He said "Stop." Then he left. (See above.) Done.') == [
        'He said "Stop."',
        "Then he left.",
        "(See above.)",
        "Done.",
    ]


def test_wrapped_lines_are_joined_and_blank_lines_separate_paragraphs() -> None:
    text = "The committee approved the budget for the\nnorth region after a long debate\n\nA new paragraph starts here."

    spans = split_sentences(text)

    assert [text[start:end] for start, end in spans] == [
        "The committee approved the budget for the\nnorth region after a long debate",
        "A new paragraph starts here.",
    ]


def test_bullets_are_sentences_of_their_own_without_their_markers() -> None:
    text = (
        "Bring these to the desk:\n"
        "- the receipt\n"
        "* the original box, which must be\n"
        "  undamaged\n"
        "• the charger\n"
        "1. Open the lid\n"
        "2) Press start\n"
        "(a) Wait for the beep"
    )

    assert texts(text) == [
        "Bring these to the desk:",
        "the receipt",
        "the original box, which must be\n  undamaged",
        "the charger",
        "Open the lid",
        "Press start",
        "Wait for the beep",
    ]


def test_headings_without_a_full_stop_are_sentences_that_can_be_left_out() -> None:
    text = "# Pricing\nThe plan costs 9 euros.\n\nRefund policy\nRefunds take 14 days.\nA last line without a stop"

    assert texts(text) == [
        "Pricing",
        "The plan costs 9 euros.",
        "Refund policy",
        "Refunds take 14 days.",
        "A last line without a stop",
    ]
    assert texts(text, headings=False) == [
        "The plan costs 9 euros.",
        "Refunds take 14 days.",
        "A last line without a stop",
    ]


def test_a_single_unpunctuated_line_is_a_sentence_not_a_heading() -> None:
    assert texts("Refunds take fourteen days", headings=False) == ["Refunds take fourteen days"]


def test_a_run_on_text_is_cut_at_word_boundaries_below_the_limit() -> None:
    text = " ".join(f"word{number}" for number in range(700))
    assert len(text) > 5000

    spans = split_sentences(text)

    assert len(spans) > 5000 // MAX_SENTENCE_CHARS
    assert all(end - start <= MAX_SENTENCE_CHARS for start, end in spans)
    assert " ".join(text[start:end] for start, end in spans) == text  # every word kept whole, in order


def test_a_run_on_text_prefers_cutting_after_a_clause() -> None:
    clause = "the river flooded the lower town again, "
    text = clause * 130

    spans = split_sentences(text)

    assert all(text[start:end].endswith(",") for start, end in spans[:-1])
    assert all(end - start <= MAX_SENTENCE_CHARS for start, end in spans)


def test_text_without_spaces_is_cut_hard() -> None:
    text = "x" * 5000

    spans = split_sentences(text)

    whole, rest = divmod(5000, MAX_SENTENCE_CHARS)
    assert [end - start for start, end in spans] == [MAX_SENTENCE_CHARS] * whole + [rest]
    assert "".join(text[start:end] for start, end in spans) == text


@pytest.mark.parametrize("text", ["", "   \n\n\t ", "-\n*\n#"])
def test_blank_text_has_no_sentences(text: str) -> None:
    assert split_sentences(text) == []


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"ab Z.!?,;-*#|1\n\t()\"'", "word ", "Dr. ", "U.S. ", "3.5 ", "\n- ", "\n\n", "x" * 90]),
        max_size=400,
    ).map("".join)
)
def test_spans_are_ordered_trimmed_disjoint_and_bounded(text: str) -> None:
    spans = split_sentences(text)

    assert all(0 <= start < end <= len(text) for start, end in spans)
    assert all(previous_end <= start for (_, previous_end), (start, _) in pairwise(spans))
    assert all(not text[start].isspace() and not text[end - 1].isspace() for start, end in spans)
    assert all(end - start <= MAX_SENTENCE_CHARS for start, end in spans)
    assert {(start, end) for start, end in split_sentences(text, headings=False)} <= set(spans)


# --- terms ---------------------------------------------------------------------------------------------------------


def test_content_terms_leave_out_stop_words_and_fold_inflections() -> None:
    assert content_terms("How long do the Refunds take?") == {"long", "refund", "take"}
    assert content_terms("refunded refunding refunds") == {"refund"}
    assert content_terms("What is it?") == frozenset()


def test_term_overlap_is_the_share_of_question_terms_found() -> None:
    question = content_terms("How many employees does management have?")

    assert term_overlap(question, "The employment office has 40 managers.") == 1.0
    assert term_overlap(question, "Headcount reached 140 employees.") == 0.5
    assert term_overlap(question, "Mars has two moons.") == 0.0
    assert term_overlap(frozenset(), "Anything at all.") == 0.0


# --- answers -------------------------------------------------------------------------------------------------------


async def test_the_answering_sentence_is_cited_from_its_source_with_exact_offsets(
    engine: ExtractiveEngine, embedder: CountingEmbedder
) -> None:
    sources = [
        Source(1, LIBRARY[5]),
        Source(
            2,
            "Returns and refunds\nItems can be returned within 30 days of delivery.  Refunds are issued to the\n"
            "original payment method within 14 days of receiving the return.",
        ),
        Source(3, LIBRARY[3]),
    ]

    answer = await engine.answer("How long do refunds take?", sources)

    assert answer.answered
    assert [sentence.marker for sentence in answer.sentences] == [2]
    (sentence,) = answer.sentences
    assert sentence.text == "Refunds are issued to the original payment method within 14 days of receiving the return."
    assert sources[1].text[sentence.start : sentence.end] == sentence.text.replace("the original", "the\noriginal")
    assert answer.text() == f"{sentence.text} [2]"
    # The question and every candidate sentence, in one call.
    assert len(embedder.calls) == 1
    assert embedder.calls[0][0] == "How long do refunds take?"


@pytest.mark.parametrize(("question", "marker", "expected"), ANSWERABLE)
async def test_answerable_questions_are_answered_from_the_right_source(
    engine: ExtractiveEngine, question: str, marker: int, expected: str
) -> None:
    answer = await engine.answer(question, SOURCES)

    assert answer.answered
    best = max(answer.sentences, key=lambda sentence: sentence.score)
    assert best.marker == marker
    assert best.text.startswith(expected)
    assert SOURCES[marker - 1].text[best.start : best.end] == best.text
    assert_cites_exact_spans(answer, SOURCES)


@pytest.mark.parametrize("question", UNANSWERABLE)
async def test_questions_the_sources_do_not_answer_say_so(engine: ExtractiveEngine, question: str) -> None:
    answer = await engine.answer(question, SOURCES)

    assert not answer.answered
    assert answer.sentences == []
    assert answer.text() == NO_ANSWER


async def test_a_lower_threshold_answers_with_the_closest_sentences(embedder: CountingEmbedder) -> None:
    answer = await ExtractiveEngine(embedder, min_relevance=-1.0).answer(UNANSWERABLE[0], SOURCES)

    assert answer.answered  # so the threshold, not a lack of candidates, is what said "no answer" above


@pytest.mark.parametrize(
    "sources",
    [[], [Source(1, "")], [Source(1, "  \n\n "), Source(2, "# Heading only")], [Source(1, "Yes. No. Maybe.")]],
)
async def test_sources_without_candidate_sentences_give_no_answer_without_embedding(
    engine: ExtractiveEngine, embedder: CountingEmbedder, sources: list[Source]
) -> None:
    answer = await engine.answer("How long do refunds take?", sources)

    assert not answer.answered
    assert answer.text() == NO_ANSWER
    assert embedder.calls == []


async def test_a_blank_question_gets_no_answer(engine: ExtractiveEngine) -> None:
    assert not (await engine.answer("  ", SOURCES)).answered


async def test_near_duplicate_sentences_are_not_both_picked(engine: ExtractiveEngine) -> None:
    first = Source(1, "Our offices are in Leeds. Refunds are issued within 14 days of the return. We sell lamps.")
    second = Source(2, "Refunds are issued within fourteen days of the return. Opening hours are nine to five.")
    # Each is an answer on its own...
    assert (await engine.answer("How long do refunds take?", [second])).answered

    answer = await engine.answer("How long do refunds take?", [first, second])

    # ...but together only one is picked.
    assert [sentence.text for sentence in answer.sentences] == ["Refunds are issued within 14 days of the return."]


async def test_a_sentence_repeated_by_overlapping_chunks_is_cited_once_from_the_first(
    engine: ExtractiveEngine, embedder: CountingEmbedder
) -> None:
    repeated = "Refunds are issued within 14 days of the return."
    sources = [Source(1, f"We sell lamps. {repeated}"), Source(2, f"{repeated} Opening hours are nine to five.")]

    answer = await engine.answer("How long do refunds take?", sources)

    assert [(sentence.marker, sentence.text) for sentence in answer.sentences] == [(1, repeated)]
    assert embedder.calls[0].count(repeated) == 1


REFUND_FACTS = (
    "Refunds are paid to the original card. Refunds for damaged items include the shipping cost. Refunds for gift "
    "purchases are paid as store credit. Refunds are issued within 14 days of the return. Refunds above 500 euros "
    "need a manager's approval. Refunds cannot be split across two cards."
)


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_max_sentences_is_honoured(embedder: CountingEmbedder, limit: int) -> None:
    sources = [Source(1, REFUND_FACTS)]
    unlimited = await ExtractiveEngine(embedder, max_sentences=10).answer("How do refunds work?", sources)
    assert len(unlimited.sentences) > 3

    answer = await ExtractiveEngine(embedder, max_sentences=limit).answer("How do refunds work?", sources)

    assert len(answer.sentences) == limit


async def test_sentences_of_one_source_read_in_document_order(engine: ExtractiveEngine) -> None:
    answer = await engine.answer("How do refunds work?", [Source(1, REFUND_FACTS)])

    assert len(answer.sentences) > 1
    assert [sentence.start for sentence in answer.sentences] == sorted(sentence.start for sentence in answer.sentences)
    assert_cites_exact_spans(answer, [Source(1, REFUND_FACTS)])


async def test_the_source_with_the_best_sentence_comes_first(engine: ExtractiveEngine) -> None:
    sources = [
        Source(1, "Most refunds are processed quickly."),
        Source(2, "Refunds are issued within 14 days of the return."),
    ]

    answer = await engine.answer("How long do refunds take?", sources)

    assert [sentence.marker for sentence in answer.sentences] == [2, 1]
    assert answer.sentences[0].score > answer.sentences[1].score


async def test_the_answer_text_cites_every_sentence(engine: ExtractiveEngine) -> None:
    sources = [Source(1, LIBRARY[0]), Source(2, REFUND_FACTS)]

    answer = await engine.answer("How are refunds paid?", sources)

    assert len(answer.sentences) > 1
    assert answer.text() == " ".join(f"{sentence.text} [{sentence.marker}]" for sentence in answer.sentences)
    assert len(re.findall(r"\[\d+\]", answer.text())) == len(answer.sentences)


async def test_headings_and_questions_in_the_sources_are_never_the_answer(engine: ExtractiveEngine) -> None:
    source = Source(
        1,
        "Refund policy\nHow long do refunds take?\nRefunds are issued within 14 days of the return.\n\n"
        "## Refunds and how long they take\nWe sell lamps.",
    )

    answer = await engine.answer("How long do refunds take?", [source])

    assert [sentence.text for sentence in answer.sentences] == ["Refunds are issued within 14 days of the return."]


async def test_only_the_first_sentences_of_a_source_are_considered(embedder: CountingEmbedder) -> None:
    filler = " ".join(f"Lamp model {number} comes in blue, green and red." for number in range(40))
    sources = [Source(1, f"{filler} Refunds are issued within 14 days of the return.")]

    capped = await ExtractiveEngine(embedder, max_candidates_per_source=32).answer("How long do refunds take?", sources)
    uncapped = await ExtractiveEngine(embedder, max_candidates_per_source=64).answer(
        "How long do refunds take?", sources
    )

    assert not capped.answered
    assert len(embedder.calls[0]) == 1 + 32
    assert uncapped.answered


async def test_the_same_input_gives_the_same_answer(engine: ExtractiveEngine) -> None:
    first = await engine.answer("How are refunds paid?", [Source(1, LIBRARY[0]), Source(2, REFUND_FACTS)])
    second = await engine.answer("How are refunds paid?", [Source(1, LIBRARY[0]), Source(2, REFUND_FACTS)])

    assert first == second


def test_the_engine_names_its_model(engine: ExtractiveEngine) -> None:
    assert engine.model == MODEL == "folio-extractive"


def test_answers_are_built_from_sentences() -> None:
    answer = ExtractiveAnswer(
        [Sentence(2, "Mars has two moons.", 10, 29, 0.8), Sentence(1, "They are small.", 0, 15, 0.5)]
    )

    assert answer.answered
    assert answer.text() == "Mars has two moons. [2] They are small. [1]"


@pytest.mark.parametrize("options", [{"max_sentences": 0}, {"max_candidates_per_source": 0}])
def test_limits_below_one_are_refused(embedder: CountingEmbedder, options: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ExtractiveEngine(embedder, **options)


async def test_markers_start_at_one(engine: ExtractiveEngine) -> None:
    with pytest.raises(ValueError, match="start at 1"):
        await engine.answer("How long do refunds take?", [Source(0, "Refunds take 14 days.")])
