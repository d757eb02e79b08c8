"""A search's text as search analytics group it (`search_queries.normalized`)."""

from __future__ import annotations

import unicodedata


def normalized_query(query: str) -> str:
    """`query` without the differences that leave the question the same, so that search analytics group its
    variants: compatibility forms (NFKC: full-width letters, ligatures), case (casefolded), runs of white space,
    and punctuation and symbols around words (`Refund?`, `(refund)`, `¿refund`), but for the marks search syntax
    reads (a leading `-`, and `"`). Accents and word order stay: the index tells `café` from `cafe`, and phrases
    and vectors tell `dog bites man` from `man bites dog`."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", query).casefold())
    words = [kept for word in folded.split() if (kept := _word(word))]
    return " ".join(words) or " ".join(folded.split())


def _word(word: str) -> str:
    start, end = 0, len(word)
    while start < end and _loose(word[start]):
        start += 1
    while end > start and _loose(word[end - 1]):
        end -= 1
    core = word[start:end]
    return "-" + core if word.startswith("-") and core else core


def _loose(character: str) -> bool:
    """Punctuation or a symbol that search syntax does not read."""
    return character != '"' and unicodedata.category(character)[0] in "PS"
