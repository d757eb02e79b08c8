"""What rises in a period against the period before.

The integration point with trending (`folio.analytics.trending`): until its service is committed, the pulse ranks
categories here by a plain ratio of the two periods' counts, and lists no terms.
"""

from __future__ import annotations

from collections.abc import Mapping

from folio.analytics.pulse.schemas import RisingRead

# Cases a category needs in the period to count as rising: one case more than nothing is no trend.
MIN_CASES = 5
OTHER_KEY = "__other__"


def rising_categories(
    now: Mapping[str | None, int], before: Mapping[str | None, int], *, limit: int
) -> list[RisingRead]:
    """The categories with at least MIN_CASES cases that grew, by (now + 1) / (before + 1), largest first: the
    add-one keeps a category new in the period from outranking everything on one case more."""
    grown = [
        (key, count, before.get(key, 0))
        for key, count in now.items()
        if key is not None and key != OTHER_KEY and count >= MIN_CASES and count > before.get(key, 0)
    ]
    grown.sort(key=lambda item: (-(item[1] + 1) / (item[2] + 1), -item[1], item[0]))
    return [
        RisingRead(key=key, now=count, before=previous, change_percent=change_percent(count, previous))
        for key, count, previous in grown[:limit]
    ]


def change_percent(now: float, before: float) -> float | None:
    return None if before == 0 else round(100 * (now - before) / before, 1)
