"""The offline answer engine: the sentences of the retrieved chunks that best answer a question, each cited.

Nothing is generated, so nothing can be made up: every sentence of an answer is a span of a source, with its
offsets, and when no sentence is relevant enough the engine says so rather than offering the least bad one. It
reports the model `folio-extractive` so that nobody mistakes its answers for a generative model's.

Sentence splitting (`split_sentences`), term overlap (`content_terms`, `term_overlap`) and diverse selection
(`select_diverse`) are separate so that extractive summaries can rank sentences by centrality with the same parts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from folio.embeddings.provider import EmbeddingProvider
from folio.llm._sentences import ORDINAL_DOT, agrees, guess_language, sentence_starts

MODEL = "folio-extractive"
NO_ANSWER = "The documents found do not contain an answer to this question."

# Calibrated with all-MiniLM-L6-v2 on hand-written questions (tests/llm/test_extractive.py): the sentences that
# answer scored 0.34 to 0.87; the best sentences of sources about something else 0.06 to 0.25. Near misses (a
# password policy asked how to reset a password) score up to 0.46: telling those apart takes a generative model.
DEFAULT_MIN_RELEVANCE = 0.3
# Cosine similarity carries the meaning; shared words reward the exact names and numbers a question asks about.
COSINE_WEIGHT = 0.8
# A sentence joins the answer only when it is nearly as relevant as the best one: a focused answer beats five loose
# ones.
RELATIVE_CUTOFF = 0.75
# Two sentences this similar say the same thing (chunk overlap repeats sentences; documents repeat themselves).
DUPLICATE_SIMILARITY = 0.9
# MMR trade-off: how much a candidate's similarity to what is already picked counts against its relevance.
REDUNDANCY_PENALTY = 0.3
# Embedding is the cost: MiniLM reads ~250 sentences a second on one core, so eight full sources take about one.
MAX_CANDIDATES_PER_SOURCE = 32
# Longer "sentences" (run-on text, tables flattened to one line) are cut: an answer should quote, not paste pages.
MAX_SENTENCE_CHARS = 400
# Shorter pieces are headings, labels and fragments, which name a topic without saying anything about it.
MIN_WORDS = 3


@dataclass(frozen=True, slots=True)
class Source:
    """One retrieved chunk, numbered as the answer cites it."""

    marker: int
    text: str


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a source: `text` is `source.text[start:end]` with its whitespace runs made single spaces."""

    marker: int
    text: str
    start: int
    end: int
    score: float


@dataclass(frozen=True, slots=True)
class ExtractiveAnswer:
    """The picked sentences in reading order; none when the sources do not answer the question."""

    sentences: list[Sentence]

    @property
    def answered(self) -> bool:
        return bool(self.sentences)

    def text(self) -> str:
        """`First sentence. [1] Second sentence. [2]`, or `NO_ANSWER`."""
        if not self.sentences:
            return NO_ANSWER
        return " ".join(f"{sentence.text} [{sentence.marker}]" for sentence in self.sentences)


class ExtractiveEngine:
    """Answers from sources by picking their most relevant sentences: relevance, then diversity, then order.

    Sentences come out grouped by source, sources in the order of their best sentence (so the answer opens with
    its strongest evidence), and the sentences of one source in document order (so they read as written).
    """

    model = MODEL

    def __init__(
        self,
        embedder: EmbeddingProvider,
        *,
        max_sentences: int = 5,
        min_relevance: float = DEFAULT_MIN_RELEVANCE,
        max_candidates_per_source: int = MAX_CANDIDATES_PER_SOURCE,
    ) -> None:
        if max_sentences < 1:
            raise ValueError(f"max_sentences must be at least 1, not {max_sentences}")
        if max_candidates_per_source < 1:
            raise ValueError(f"max_candidates_per_source must be at least 1, not {max_candidates_per_source}")
        self._embedder = embedder
        self._max_sentences = max_sentences
        self._min_relevance = min_relevance
        self._max_candidates_per_source = max_candidates_per_source

    async def answer(self, question: str, sources: Sequence[Source]) -> ExtractiveAnswer:
        candidates = self._candidates(sources)
        if not question.strip() or not candidates:
            return ExtractiveAnswer([])
        # One call: the provider batches by length, and a remote provider pays one round trip.
        vectors = await self._embedder.embed([question, *(candidate.text for candidate in candidates)])
        question_vector, sentence_vectors = vectors[0], vectors[1:]
        terms = content_terms(question)
        overlaps = np.array([term_overlap(terms, candidate.text) for candidate in candidates], dtype=np.float32)
        relevance = COSINE_WEIGHT * (sentence_vectors @ question_vector) + (1 - COSINE_WEIGHT) * overlaps
        best = float(relevance.max())
        if best < self._min_relevance:
            return ExtractiveAnswer([])
        picked = select_diverse(
            relevance,
            sentence_vectors,
            limit=self._max_sentences,
            floor=max(self._min_relevance, RELATIVE_CUTOFF * best),
        )
        sentences = [replace(candidates[i], score=float(relevance[i])) for i in picked]
        best_by_marker: dict[int, float] = {}
        for sentence in sentences:
            best_by_marker[sentence.marker] = max(best_by_marker.get(sentence.marker, sentence.score), sentence.score)
        sentences.sort(key=lambda s: (-best_by_marker[s.marker], s.marker, s.start))
        return ExtractiveAnswer(sentences)

    def _candidates(self, sources: Sequence[Source]) -> list[Sentence]:
        candidates: list[Sentence] = []
        # Overlapping chunks repeat sentences: embed each once, cited from the first (best-ranked) source.
        seen: set[str] = set()
        for source in sources:
            if source.marker < 1:
                raise ValueError(f"citation markers start at 1, not {source.marker}")
            taken = 0
            for start, end in split_sentences(source.text, headings=False):
                if taken == self._max_candidates_per_source:
                    break
                text = " ".join(source.text[start:end].split())
                # A question in the sources (an FAQ's) restates the question; it is never the answer.
                if text in seen or text.endswith("?") or len(_WORD.findall(text)) < MIN_WORDS:
                    continue
                seen.add(text)
                candidates.append(Sentence(source.marker, text, start, end, 0.0))
                taken += 1
        return candidates


def select_diverse(
    scores: npt.NDArray[np.float32], vectors: npt.NDArray[np.float32], *, limit: int, floor: float
) -> list[int]:
    """Indices of up to `limit` items scoring at least `floor`, picked by maximal marginal relevance.

    Each pick is the item whose score minus its redundancy (highest cosine to an item already picked) is best;
    items nearly identical to a picked one are never picked. Ties go to the lower index, so the result is
    deterministic. `vectors` are unit rows, one per score.
    """
    eligible = [i for i in range(len(scores)) if scores[i] >= floor]
    picked: list[int] = []
    redundancy = np.zeros(len(scores), dtype=np.float32)
    while eligible and len(picked) < limit:
        best = max(eligible, key=lambda i: (float(scores[i] - REDUNDANCY_PENALTY * redundancy[i]), -i))
        picked.append(best)
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
        eligible = [i for i in eligible if i != best and redundancy[i] < DUPLICATE_SIMILARITY]
    return picked


# --- terms ---------------------------------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")
# Function words, and the words questions are phrased with: sharing them says nothing about the answer.
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing done down during each either else ever every few for from
    further get gets got had has have having he her here hers herself him himself his how i if in into is it its
    itself just know let like many may me might more most much must my myself no nor not now of off on once only or
    other our ours ourselves out over own per please same shall she should so some such tell than that the their theirs
    them themselves then there these they this those through to too under until up upon us very via was we were
    what when where whether which while who whom whose why will with within without would yes yet you your yours
    yourself yourselves""".split()
)
_SUFFIXES = ("ing", "ed", "es", "s", "ly")
# Stems sharing this many leading letters count as the same word (manager, management; employee, employment).
_PREFIX = 6


def content_terms(text: str) -> frozenset[str]:
    """The crudely stemmed, lower-cased content words of `text`: stop words and single letters left out."""
    return frozenset(
        _stem(word)
        for word in _WORD.findall(text.lower())
        if word not in STOP_WORDS and (len(word) > 1 or word.isdigit())
    )


def term_overlap(question_terms: frozenset[str], text: str) -> float:
    """The share of `question_terms` that `text` contains, from 0 to 1; a stem or a long common prefix matches."""
    if not question_terms:
        return 0.0
    terms = content_terms(text)
    prefixes = {term[:_PREFIX] for term in terms if len(term) >= _PREFIX}
    found = sum(1 for term in question_terms if term in terms or (len(term) >= _PREFIX and term[:_PREFIX] in prefixes))
    return found / len(question_terms)


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    for suffix in _SUFFIXES:
        # "ss" is no plural (process, class); a stem shorter than three letters is no stem (uses, bed).
        if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# --- sentences -----------------------------------------------------------------------------------------------------

# A list item's marker: "-", "*", "•", "1.", "2)", "(a)", "b)". The marker is not part of the sentence.
_BULLET = re.compile(r"[ \t]*(?:[-*+•‣◦▪●–—]|\(?\d{1,3}[.)]|\(?[a-z]\))[ \t]+")
_MARKDOWN_HEADING = re.compile(r"[ \t]{0,3}#{1,6}[ \t]+")
# Where a sentence may end: terminal punctuation, maybe closing quotes or brackets (French spaces before its »),
# then a space; or a Chinese or Japanese full stop, question or exclamation mark, which no space follows.
_SENTENCE_END = re.compile(r"[.!?…]+(?:[\"'”’)\]»]|[ \u00a0\u202f]»)*(?=\s)|[。！？｡]+[」』）】\"'”’)\]]*")
_DOTTED = re.compile(r"(?:[a-z]\.)+[a-z]")
# Abbreviations after which a full stop never ends a sentence (a missed cut costs less than a "Dr." sentence).
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt gen col lt sgt capt gov sen rep rev hon pres vs cf al viz approx dept univ inc
    ltd co corp jan feb apr jun jul aug sep sept oct nov""".split()
)
# Words that are abbreviations only before a number ("No. 5", "Fig. 3", "Dec. 12"); elsewhere they end sentences.
_NUMBER_ABBREVIATIONS = frozenset("no nos vol fig figs eq ch sec art para pp mar dec est min max".split())
# A heading line does not end with these; a line of wrapped prose often does.
_CONTINUING = tuple(".!?…,;:-–—/(&")
# A line ending with these (before closing quotes or brackets) ends its sentence or introduces what follows.
_FINISHED = tuple(".!?…:;")
_CLOSING = "\"'”’)]» \u00a0\u202f」』）】"


def split_sentences(text: str, language: str | None = None, /, *, headings: bool = True) -> list[tuple[int, int]]:
    """`(start, end)` spans of the sentences of `text`, in order, trimmed of surrounding whitespace.

    Lines are joined into paragraphs (text extracted from PDFs wraps mid-sentence), except that a blank line, a
    list item, a Markdown heading, a table row or a short line that reads as a heading starts a new one. A blank
    line does not when the line before it stops without final punctuation and the line after it goes on in lower
    case: a sentence that runs onto the next page of a PDF stays one. List and heading markers are left out of the
    spans. Within a paragraph a sentence ends at terminal punctuation followed
    by a space and anything but a lower-case letter, unless the full stop closes an abbreviation, an initial or a
    dotted abbreviation (Dr., J., U.S.); decimals never end one. Longer sentences are cut to at most
    `MAX_SENTENCE_CHARS`, at a clause or word boundary where there is one.

    With `headings=False`, headings (Markdown ones, and short unpunctuated lines with text after them) are left
    out: they name a topic without saying anything about it, so they neither answer nor summarise.

    Chinese and Japanese sentences end at their own full stops and marks, with no space after them. An elided
    article does not hide an abbreviation (French "l'art. 5"). In another `language` than English (ISO 639-1;
    guessed from the text's function words when not given), a full stop ends a sentence only where that
    language's rules (sentencex) agree, and after a number only where the language does not write ordinals so
    (German "ab 1. Januar").
    """
    language = language or guess_language(text)
    spans: list[tuple[int, int]] = []
    for paragraph in _paragraphs(text):
        if paragraph.heading and not headings:
            continue
        start = paragraph.start
        starts = None
        if language not in (None, "en"):
            starts = sentence_starts(language, text, paragraph.start, paragraph.end)
        for match in _SENTENCE_END.finditer(text, paragraph.start, paragraph.end):
            following = _skip_space(text, match.end(), paragraph.end)
            if following == paragraph.end or not _ends_sentence(text, paragraph.start, match, following, language):
                continue
            if starts is not None and match.group()[0] in ".!?…" and not agrees(starts, match.start(), following):
                continue
            spans.extend(_cut_long(text, start, match.end()))
            start = following
        spans.extend(_cut_long(text, start, paragraph.end))
    return spans


@dataclass(slots=True)
class _Paragraph:
    start: int
    end: int
    heading: bool = False
    # A paragraph of one plain line that reads as a heading is one if text follows it.
    heading_like: bool = False


def _paragraphs(text: str) -> list[_Paragraph]:
    paragraphs: list[_Paragraph] = []
    previous = ""  # the previous line's content, when this line may continue its paragraph
    # The last line before blank lines, when it stops mid-sentence: a page break of a PDF falls anywhere, and the
    # blank line that separates pages must not cut the sentence it falls in.
    unfinished = ""
    line_start = 0
    for line in text.splitlines(keepends=True):
        stripped = line.rstrip()
        heading = _MARKDOWN_HEADING.match(stripped)
        marker = heading or _BULLET.match(stripped)
        start = line_start + (marker.end() if marker else len(stripped) - len(stripped.lstrip()))
        end = line_start + len(stripped)
        line_start += len(line)
        if start >= end:
            unfinished = unfinished or previous
            previous = ""
            continue
        content = text[start:end]
        table_row = content[0] == "|"
        plain = marker is None and not table_row
        runs_on = bool(previous) and not _reads_as_heading(previous, content)
        resumes = bool(unfinished) and content[0].islower() and not unfinished.rstrip(_CLOSING).endswith(_FINISHED)
        if plain and (runs_on or resumes):
            paragraphs[-1].end = end
            paragraphs[-1].heading_like = False
        else:
            paragraphs.append(_Paragraph(start, end, heading=heading is not None, heading_like=plain))
        # Nothing runs on after a heading or a table row.
        previous = "" if heading is not None or table_row else content
        unfinished = ""
    for paragraph in paragraphs[:-1]:
        if paragraph.heading_like and _reads_as_heading(text[paragraph.start : paragraph.end], None):
            paragraph.heading = True
    return paragraphs


def _reads_as_heading(line: str, following: str | None) -> bool:
    """Whether `line` (followed by the line `following`) reads as a heading rather than prose wrapped mid-sentence."""
    words = line.split()
    return (
        len(words) <= 10
        and not line.endswith(_CONTINUING)
        and words[-1].lower() not in STOP_WORDS
        and (line[0].isupper() or line[0].isdigit())
        and (following is None or following[0].isupper() or following[0].isdigit())
    )


def _ends_sentence(text: str, block_start: int, end: re.Match[str], following: int, language: str | None) -> bool:
    if text[following].islower():
        return False
    if end.group()[-1] in "」』" and text[following] in "とっ":
        return False  # a quotation within the sentence: 「明日来ます。」と言った。
    if end.group().rstrip(_CLOSING) != ".":
        return True
    word_start = end.start()
    while word_start > block_start and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start : end.start()].lstrip("\"'“‘([«").lower()
    if len(word) == 1 and word.isalpha():
        return False  # an initial: J. R. R. Tolkien
    if language in ORDINAL_DOT and word.isdigit() and len(word) <= 2:
        return False  # an ordinal: ab 1. Januar, im 19. Jahrhundert
    # The word after an elided article or preposition: l'art., d'env.
    bare = re.split(r"['’]", word)[-1]
    if {word, bare} & _ABBREVIATIONS or _DOTTED.fullmatch(word):
        return False
    return not ({word, bare} & _NUMBER_ABBREVIATIONS and text[following].isdigit())


def _skip_space(text: str, index: int, end: int) -> int:
    while index < end and text[index].isspace():
        index += 1
    return index


def _cut_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    pieces: list[tuple[int, int]] = []
    while True:
        while end > start and text[end - 1].isspace():
            end -= 1
        if end - start <= MAX_SENTENCE_CHARS:
            # Rules and separators ("---", "|---|---|") are not sentences.
            if _WORD.search(text, start, end):
                pieces.append((start, end))
            return pieces
        window = text[start : start + MAX_SENTENCE_CHARS]
        # Prefer a clause boundary in the second half of the window, then a word boundary, then any character.
        cut = max(window.rfind(mark) for mark in ("; ", ": ", ", ", " – ", " — ")) + 1
        if cut <= MAX_SENTENCE_CHARS // 2:
            cut = max(window.rfind(" "), window.rfind("\n"))
        if cut <= MAX_SENTENCE_CHARS // 2:
            cut = MAX_SENTENCE_CHARS
        piece_end = start + cut
        while text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((start, piece_end))
        start = _skip_space(text, start + cut, end)
