"""Dunning's log-likelihood ratio (G²) of a 2×2 table: is an item's share of cases now different from before?

        present    absent
now     a          N₁ − a
before  b          N₀ − b

G² = 2 Σ O ln(O / E) over the four cells, E = row total × column total / (N₁ + N₀) (a cell with O = 0 adds 0).
Under "same share now as before" G² follows χ² with one degree of freedom; unlike the z-score of a proportion or
Pearson's χ², it stays accurate for rare items (Dunning 1993, "Accurate methods for the statistics of surprise and
coincidence"). It is signed here: positive when the share now is the higher one.
"""

from __future__ import annotations

import math

# χ² with one degree of freedom: p < 0.0001. Thousands of lexemes are tested per question, so the usual 3.84
# (p < 0.05) would list dozens of chance fluctuations.
MIN_SCORE = 15.13
# An item must also at least half again its share: on tens of thousands of cases a 10 % change is significant, but
# it is not what people call trending.
MIN_RATIO = 1.5


def log_likelihood(now: int, before: int, cases_now: int, cases_before: int) -> float:
    """Signed G² of an item in `now` of `cases_now` cases against `before` of `cases_before`."""
    cases_now, cases_before = max(cases_now, now), max(cases_before, before)
    total = cases_now + cases_before
    present = now + before
    if total == 0 or present in (0, total):
        return 0.0
    cells = (
        (now, cases_now, present),
        (cases_now - now, cases_now, total - present),
        (before, cases_before, present),
        (cases_before - before, cases_before, total - present),
    )
    g2 = 2 * sum(observed * math.log(observed * total / (row * column)) for observed, row, column in cells if observed)
    return g2 if now * cases_before >= before * cases_now else -g2


def share_ratio(now: int, before: int, cases_now: int, cases_before: int) -> float | None:
    """The item's share of cases now over its share before; None when it had none before (or nothing to share)."""
    if before == 0 or cases_now == 0 or cases_before == 0:
        return None
    return (now / cases_now) / (before / cases_before)


def rising(now: int, before: int, cases_now: int, cases_before: int) -> tuple[float, float | None] | None:
    """(score, ratio) when the item rose significantly and enough, else None."""
    if cases_before == 0:
        return None
    score = log_likelihood(now, before, cases_now, cases_before)
    ratio = share_ratio(now, before, cases_now, cases_before)
    if score < MIN_SCORE or (ratio is not None and ratio < MIN_RATIO):
        return None
    return score, ratio
