from __future__ import annotations

from folio.errors import ValidationFailed


class ForecastHistoryTooShort(ValidationFailed):
    """No series has enough history to forecast and to check the forecast against: each needs `details.min_days`
    days from its first count to the end of the history (`details.history_days` is the longest found). In a grouped
    answer where some series have enough, the others are returned with `insufficient_history: true` instead."""

    code = "FORECAST_HISTORY_TOO_SHORT"
    message = "Too little history to forecast."
