from __future__ import annotations

from folio.errors import ValidationFailed


class TimezoneInvalid(ValidationFailed):
    """`tz` is not an IANA time zone name (such as `Europe/Berlin` or `UTC`)."""

    code = "TIMEZONE_INVALID"
    message = "Unknown time zone."


class PeriodInvalid(ValidationFailed):
    """`from` must come before `to`, and the period may not be longer than `details.max_days` days (nor hold more
    than `details.max_buckets` buckets of the interval asked)."""

    code = "ANALYTICS_PERIOD_INVALID"
    message = "The period is invalid or too long."


class FilterNotApplicable(ValidationFailed):
    """A case filter or grouping was given for a metric that does not count cases; `details.allowed` lists what
    the metric takes."""

    code = "ANALYTICS_FILTER_NOT_APPLICABLE"
    message = "This metric does not take that filter or grouping."
