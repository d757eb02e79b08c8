"""The figures the overview reads instead of scanning what they count, kept with the help of triggers: document
tallies (migration `e6c7a3f40d01`), whose change rows a periodic job folds so that a read sums few rows, and case
days (`e6c7a3f40d02`), whose days marked stale the same job computes again so that a read seldom has to."""

from __future__ import annotations

from sqlalchemy import text

from folio.jobs.runner import JobContext

_COMPACT = text("SELECT compact_document_tallies()")
_REFRESH = text("SELECT refresh_all_case_days()")


async def compact_tallies(context: JobContext) -> None:
    async with context.fenced() as session:
        folded = int(await session.scalar(_COMPACT) or 0)
    async with context.fenced() as session:
        refreshed = int(await session.scalar(_REFRESH) or 0)
    await context.progress(100, f"folded {folded} document tally rows; computed {refreshed} case days again")
