"""Periodic jobs that delete what has outlived its retention (events, webhook deliveries), a step at a time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from folio.jobs.runner import JobContext

# Rows deleted per transaction, so a large backlog never holds locks for long.
STEP = 5000

# Deletes at most `limit` rows created before `cutoff`, oldest first; how many it deleted.
DeleteBefore = Callable[[AsyncSession, datetime, int], Awaitable[int]]


class Prune:
    def __init__(self, what: str, retention: timedelta, delete_before: DeleteBefore) -> None:
        self.what = what
        self.retention = retention
        self.delete_before = delete_before

    async def __call__(self, context: JobContext) -> None:
        cutoff = datetime.now(UTC) - self.retention
        deleted = 0
        while True:
            async with context.fenced() as session:
                count = await self.delete_before(session, cutoff, STEP)
            deleted += count
            if count < STEP:
                break
            await context.progress(50, f"deleted {deleted} {self.what}")
        await context.progress(100, f"deleted {deleted} {self.what} older than {cutoff.isoformat()}")
