"""Random spreads for retry delays, from a generator of Folio's own: the `random` module's shared state belongs to
whoever else runs in the process (a test's property-based generator notices when it moves underneath it)."""

from __future__ import annotations

import random

_GENERATOR = random.Random()  # noqa: S311 -- spreading retries, not secrecy


def jitter(low: float, high: float) -> float:
    """A factor between `low` and `high` to multiply a delay by."""
    return _GENERATOR.uniform(low, high)
