"""The spike statistic: is a window's count of cases more than its recent baseline explains?

The counts of the `B` windows before the current one are taken as draws of a Poisson process whose mean is
estimated with one pseudo-window holding one case, λ = (S + 1) / (B + 1) where S is their sum: a group with no
history (a new category) then needs more than a case or two to look unusual, and the estimate tends to the plain
mean as history grows. The current window's count k is a spike when its one-sided tail probability under that
mean, p = P(X ≥ k | λ) = 1 − Σ_{i<k} e^{−λ} λ^i / i!, is below the rule's α, and k is at least the rule's
minimum support (so that three cases where one is usual do not page anyone).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Terms of the tail sum below this share of the sum so far no longer change it.
_EPSILON = 1e-16


def poisson_tail(count: int, mean: float) -> float:
    """P(X ≥ count) for X ~ Poisson(mean)."""
    if count <= 0:
        return 1.0
    if mean <= 0:
        return 0.0

    def probability(i: int) -> float:
        return math.exp(i * math.log(mean) - mean - math.lgamma(i + 1))

    if count <= mean:
        # Below the mode: the complement's few terms, summed.
        return max(0.0, 1.0 - math.fsum(probability(i) for i in range(count)))
    # Above the mode the terms fall at once: sum the tail itself, which keeps tiny probabilities exact.
    total, i = 0.0, count
    while True:
        term = probability(i)
        total += term
        if term <= total * _EPSILON:
            return min(total, 1.0)
        i += 1


@dataclass(frozen=True, slots=True)
class SpikeTest:
    count: int
    baseline_mean: float  # λ
    p_value: float
    spike: bool


def spike_test(count: int, baseline: Sequence[int], *, alpha: float, min_support: int) -> SpikeTest:
    """The current window's `count` against the `baseline` windows' counts (see the module's docstring)."""
    mean = (sum(baseline) + 1) / (len(baseline) + 1)
    p_value = poisson_tail(count, mean)
    return SpikeTest(count, mean, p_value, spike=count >= min_support and p_value < alpha)
