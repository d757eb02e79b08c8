"""The language of a text, the PostgreSQL text search configuration that indexes it, and the text that configuration
reads: Chinese, Japanese and Korean with their words made separable.

A document's language is detected once, when it is indexed (py3langid: a naive Bayes model over byte n-grams that
ships in its wheel, 97 languages, about a millisecond per 3,000 characters once loaded). Its chunks are indexed with
the configuration of that language where PostgreSQL has one (it stems and drops stop words), with `simple` (words
lower-cased as they are) where it has none, and with the deployment's default when the text is too short or mixed
to tell. Queries are not detected, a few words being too few: they are analysed with every configuration the
organization's chunks use, and each chunk is matched by its own.

Chinese and Japanese do not separate their words with spaces, and PostgreSQL's parser takes a run of their
characters for one word. Every run of Han, kana or Hangul characters is therefore indexed as its overlapping pairs
of characters (北京大学 → 北京 京大 大学), at indexing and at query time alike, whatever the detected language: a
query's word is found wherever its pairs are, with no dictionary to keep. A run of one character is kept as it is.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from py3langid.langid import LanguageIdentifier  # type: ignore[import-untyped]

# ISO 639-1 codes (as py3langid names languages) of the languages PostgreSQL 18 stems. A server without one of
# these configurations indexes with `simple` instead (the chunks' trigger checks `pg_ts_config`).
CONFIGS = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
SIMPLE = "simple"
# Below this probability the text is too short or too mixed to tell: "Printer broken" reads as Norwegian at 0.08.
MIN_CONFIDENCE = 0.5
# Detection reads a window at the start, the middle and the end: a cover page in another language does not decide.
_WINDOW = 2000

_detector: LanguageIdentifier | None = None
_loading = threading.Lock()


def config_for(language: str | None, *, default: str) -> str:
    """The configuration that indexes text in `language`: `default` when the language could not be told."""
    return default if language is None else CONFIGS.get(language, SIMPLE)


def detect(text: str) -> str | None:
    """The ISO 639-1 code of the language `text` is in, or None when the model is not sure enough.

    CPU-bound, and the first call loads the model (about a second): call it off the event loop."""
    sample = _sample(text)
    if not sample.strip():
        return None
    code, probability = _identifier().classify(sample)
    return str(code) if probability >= MIN_CONFIDENCE else None


def _sample(text: str) -> str:
    if len(text) <= 3 * _WINDOW:
        return text
    middle = (len(text) - _WINDOW) // 2
    return " ".join((text[:_WINDOW], text[middle : middle + _WINDOW], text[-_WINDOW:]))


def _identifier() -> LanguageIdentifier:
    global _detector
    with _loading:
        if _detector is None:
            # Imported when first needed: only the processes that index load the model.
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _detector = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _detector


# --- Chinese, Japanese and Korean ----------------------------------------------------------------------------------

# Han (with its extensions and compatibility block), the iteration marks 々〆〇, hiragana, katakana (with the
# prolonged sound mark and the half-width forms); Hangul apart, so that a pair never straddles the two.
_HAN_KANA = "\u3005-\u3007\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_RUNS = re.compile(f"[{_HAN_KANA}\U00020000-\U0003134f]+|[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]+")
# A negated word of a query (`-北京大学`) is negated as the phrase of its pairs.
_NEGATED = re.compile(r'(?<!\S)-([^\s"]+)')


def search_text(text: str) -> str | None:
    """`text` as the index reads it, each run of CJK characters replaced by its pairs; None when `text` has none."""
    if not _RUNS.search(text):
        return None
    return _RUNS.sub(_pairs, text)


def searchable(query: str) -> str:
    """A query's words (web-search syntax) as the index reads them: CJK runs as pairs, a negated run's pairs as
    one negated phrase."""
    if not _RUNS.search(query):
        return query
    negated = _NEGATED.sub(lambda match: f'-"{match.group(1)}"' if _RUNS.search(match.group(1)) else match[0], query)
    return _RUNS.sub(_pairs, negated)


def paired(lexeme: str) -> bool:
    """Whether `lexeme` is a pair (or a lone character) of a CJK run, as `search_text` makes them."""
    return _RUNS.fullmatch(lexeme) is not None


def _pairs(run: re.Match[str]) -> str:
    word = run.group()
    pairs = " ".join(word[i : i + 2] for i in range(len(word) - 1)) or word
    # Spaced apart from what surrounds the run: letters (iPhone手机), and the full-width punctuation that a server
    # whose character type is C takes for letters too.
    return f" {pairs} "
