"""Token counts estimated without the model's tokenizer, for servers that report no usage and for budgets.

BPE tokenizers of OpenAI-style models give about four characters of English per token, and a token or more per
CJK character; counting non-ASCII characters one each errs on the high side, which is the safe side for budgets.
"""

from __future__ import annotations

from collections.abc import Sequence

from folio.llm.provider import Message

# OpenAI's published rule of thumb: each message costs its content plus ~4 tokens of role and framing, and the
# reply is primed with 3 more.
_PER_MESSAGE = 4
_REPLY_PRIMER = 3


def approximate_tokens(text: str) -> int:
    ascii_chars = sum(1 for char in text if char.isascii())
    return -(-ascii_chars // 4) + (len(text) - ascii_chars)


def approximate_prompt_tokens(messages: Sequence[Message]) -> int:
    return sum(_PER_MESSAGE + approximate_tokens(message["content"]) for message in messages) + _REPLY_PRIMER
