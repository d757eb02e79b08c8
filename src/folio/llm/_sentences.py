"""What sentence splitting needs to know of a language other than English: which language a text is in (a guess from
its function words), and where the language's own rules put sentence boundaries (sentencex, Wikimedia's splitter:
the abbreviations and date forms of ~300 languages, such as German's "1. Januar").

The guess is not the document's language (`folio.search.languages.detect`, whose model takes a second to load in
every process): splitting runs wherever answers and summaries are made, on texts of a few sentences, and only needs
to tell which rules apply.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter

import sentencex  # type: ignore[import-untyped]

# Frequent words that are seldom words of another of these languages (no "de", "la", "die", "is").
_FUNCTION_WORDS = {
    "en": "the and of to that for with was are this from have which were been their would".split(),
    "de": "der und ist nicht mit sich auf für dem des ein eine einer wird werden oder auch nach bei vom".split(),
    "fr": "le les et est une pour dans qui pas sur avec au aux sont ou mais cette être ces".split(),
    "es": "el los las y es una del por con para se como pero más este esta son muy".split(),
    "it": "il di che è per gli della con non sono nel alla anche questo una delle".split(),
    "pt": "o os da do que em um uma para com não dos das é ao mais pelo".split(),
    "nl": "het een en van dat op te zijn niet met voor ook maar wordt bij".split(),
}
_WORDS = {word: language for language, words in _FUNCTION_WORDS.items() for word in words}
_WORD = re.compile(r"\w+")
# Enough of a text to tell: its first few hundred words.
_SAMPLE = 3000
# Languages that write ordinal numbers with a full stop ("am 3. Oktober", "im 19. Jahrhundert").
ORDINAL_DOT = frozenset("cs da de et fi hr hu is lv nb nn no pl sk sl sr tr".split())


def guess_language(text: str) -> str | None:
    """The ISO 639-1 code of the language of `text` among those above, by its function words; None when unclear."""
    counts = Counter(_WORDS[word] for word in _WORD.findall(text[:_SAMPLE].lower()) if word in _WORDS)
    ranked = counts.most_common(2)
    if not ranked or ranked[0][1] < 2 or (len(ranked) > 1 and ranked[0][1] < 2 * ranked[1][1]):
        return None
    return ranked[0][0]


def sentence_starts(language: str, text: str, start: int, end: int) -> list[int]:
    """Where sentences of `text[start:end]` begin by the rules of `language`, as offsets in `text`, in order."""
    return [start + found["start_index"] for found in sentencex.get_sentence_boundaries(language, text[start:end])]


def agrees(starts: list[int], after: int, at_most: int) -> bool:
    """Whether a sentence of `starts` begins after `after` and at or before `at_most`."""
    index = bisect_left(starts, after + 1)
    return index < len(starts) and starts[index] <= at_most
