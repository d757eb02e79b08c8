"""The all-MiniLM-L6-v2 WordPiece tokenizer, shipped as package data (Apache-2.0, see model/LICENSE)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from tokenizers import Tokenizer


@cache
def load_tokenizer() -> Tokenizer:
    """The embedding model's tokenizer, shared by the process: treat it as read-only.

    The file stores truncation and padding at 128 tokens; both are turned off here so that counting tokens for
    chunking sees the whole text. A caller that needs truncation or padding configures its own copy
    (`Tokenizer.from_str(load_tokenizer().to_str())`).
    """
    tokenizer = Tokenizer.from_str(files("folio.embeddings").joinpath("model/tokenizer.json").read_text("utf-8"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer
