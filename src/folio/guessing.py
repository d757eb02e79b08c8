"""How hard a secret is to guess, for settings that refuse weak ones."""

from __future__ import annotations

import math


def guess_bits(secret: str) -> float:
    """Estimated bits of guessing work (zxcvbn: repeats, sequences, keyboard patterns and dictionary words count for
    little, so `a`×32 or a phrase scores low while 32 random bytes score high)."""
    from zxcvbn import zxcvbn  # imported here: its word lists cost ~0.1 s, needed only outside development

    # zxcvbn refuses more than 72 characters (its matching grows quadratically): a strong prefix is enough.
    guesses_log10: float = zxcvbn(secret[:72])["guesses_log10"]
    return guesses_log10 / math.log10(2)
