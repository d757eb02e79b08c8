"""Cutting extracted text into pieces the embedding model can read whole.

Chunks are measured in the embedding model's own tokens and cut at the highest Markdown level that fits: between
sections, then paragraphs, then sentences, then words. Small neighbouring sections are merged up to the target
size, so a chunk may hold several short sections, but a cut never falls inside a unit that could have stayed whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from semantic_text_splitter import MarkdownSplitter
from tokenizers import Tokenizer

from folio.ingestion.extracted import ExtractedText
from folio.observability import metrics


@dataclass(frozen=True, slots=True)
class Chunk:
    """`text` is `extracted.text[start:end]`, trimmed of surrounding whitespace; pages are 1-based, inclusive.

    `page_breaks` are the offsets in `text` where pages `page_start + 1` … `page_end` begin, in order (equal offsets
    for pages without text), so the page of `text[i]` is `page_start` plus the number of breaks at or before `i`.
    """

    index: int
    text: str
    start: int
    end: int
    page_start: int
    page_end: int
    page_breaks: tuple[int, ...]
    token_count: int


def chunk_text(
    extracted: ExtractedText, *, tokenizer: Tokenizer, target_tokens: int, overlap_tokens: int
) -> list[Chunk]:
    """Chunks of at most `target_tokens` tokens (special tokens not counted), in document order.

    Every non-whitespace character lands in at least one chunk. Where a section or paragraph has to be cut, up to
    `overlap_tokens` tokens of whole sentences (or words) from the end of one chunk are repeated at the start of
    the next, so a fact that straddles the cut is still read whole once.
    """
    if not 0 <= overlap_tokens < target_tokens:
        raise ValueError(
            f"overlap_tokens ({overlap_tokens}) must be at least 0 and below target_tokens ({target_tokens})"
        )
    # semantic-text-splitter 0.33 reports offsets in characters (Python str indices), not UTF-8 bytes.
    pieces = [
        (start, text)
        for start, text in _splitter(tokenizer, target_tokens, overlap_tokens).chunk_indices(extracted.text)
        # The splitter trims Unicode White_Space; Python's str.isspace also counts the ASCII separators \x1c-\x1f.
        if not text.isspace()
    ]
    token_counts = [
        len(encoding.ids) for encoding in tokenizer.encode_batch([text for _, text in pieces], add_special_tokens=False)
    ]
    chunks = []
    for index, ((start, text), token_count) in enumerate(zip(pieces, token_counts, strict=True)):
        end = start + len(text)
        page_start, page_end = extracted.page_range(start, end)
        # Pages are numbered from 1 in order, so `pages[page_start:page_end]` are the pages after the first.
        breaks = tuple(page.start - start for page in extracted.pages[page_start:page_end])
        chunks.append(Chunk(index, text, start, end, page_start, page_end, breaks, token_count))
    metrics.INGESTED_CHUNKS.inc(len(chunks))
    return chunks


@lru_cache(maxsize=16)
def _splitter(tokenizer: Tokenizer, target_tokens: int, overlap_tokens: int) -> MarkdownSplitter:
    # Building a splitter copies the tokenizer (tens of milliseconds): reuse it across documents.
    return MarkdownSplitter.from_huggingface_tokenizer(tokenizer, target_tokens, overlap_tokens)
