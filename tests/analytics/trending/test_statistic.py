"""Dunning's G² against SciPy's log-likelihood contingency test, the thresholds, and window arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from scipy.stats import chi2_contingency  # type: ignore[import-untyped]

from folio.analytics.errors import PeriodInvalid
from folio.analytics.trending.statistic import MIN_SCORE, log_likelihood, rising
from folio.analytics.trending.windows import windows


@pytest.mark.parametrize(
    ("now", "before", "cases_now", "cases_before"),
    [(10, 0, 100, 100), (42, 8, 280, 1120), (3, 40, 500, 2000), (1, 1, 2, 2), (999, 5, 1000, 40_000)],
)
def test_g2_is_the_log_likelihood_test_of_the_two_by_two_table(
    now: int, before: int, cases_now: int, cases_before: int
) -> None:
    table = [[now, cases_now - now], [before, cases_before - before]]
    reference = chi2_contingency(table, correction=False, lambda_="log-likelihood").statistic
    score = log_likelihood(now, before, cases_now, cases_before)
    assert abs(score) == pytest.approx(reference, rel=1e-9)
    # Signed: positive when the share now is the higher one.
    assert (score > 0) == (now / cases_now > before / cases_before)


def test_what_counts_as_rising() -> None:
    assert log_likelihood(0, 0, 100, 400) == 0.0
    assert rising(30, 10, 300, 1200) is not None  # 10 % against 0.8 %
    assert rising(3, 1, 300, 1200) is None  # too few cases to tell: G² below MIN_SCORE
    assert log_likelihood(3, 1, 300, 1200) < MIN_SCORE
    # Significant on many cases, but only 15 % more often: not trending.
    assert log_likelihood(5750, 20_000, 50_000, 200_000) > MIN_SCORE
    assert rising(5750, 20_000, 50_000, 200_000) is None
    assert rising(30, 10, 300, 0) is None  # nothing before to compare with
    assert rising(10, 40, 300, 1200) is None  # falling


def test_windows_are_whole_utc_days() -> None:
    utc = ZoneInfo("UTC")
    now = datetime(2026, 6, 10, 15, 20, tzinfo=UTC)
    default = windows(days=None, count=4, start=None, to=None, end=None, tz=utc, now=now)
    # Ending now: up to the next UTC midnight, so today so far is in the window.
    assert (default.start, default.end) == (datetime(2026, 6, 4, tzinfo=UTC), datetime(2026, 6, 11, tzinfo=UTC))
    assert default.baseline_start == datetime(2026, 5, 7, tzinfo=UTC)
    # A week of Berlin's days: its end (22:00 UTC) is rounded up, its length kept.
    berlin = ZoneInfo("Europe/Berlin")
    week = windows(days=None, count=1, start=datetime(2026, 6, 1), to=datetime(2026, 6, 8), end=None, tz=berlin)
    assert (week.start, week.end, week.days) == (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC), 7)
    exact = windows(days=3, count=2, start=None, to=None, end=datetime(2026, 6, 8, tzinfo=UTC), tz=utc)
    assert (exact.start, exact.end, exact.baseline_start) == (
        datetime(2026, 6, 5, tzinfo=UTC),
        datetime(2026, 6, 8, tzinfo=UTC),
        datetime(2026, 5, 30, tzinfo=UTC),
    )
    with pytest.raises(PeriodInvalid):
        windows(days=91, count=1, start=None, to=None, end=None, tz=utc)
    with pytest.raises(PeriodInvalid):
        windows(days=60, count=12, start=None, to=None, end=None, tz=utc)
