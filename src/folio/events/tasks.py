"""The outbox's retention: events older than `FOLIO_EVENTS__RETENTION_DAYS` are deleted by a periodic job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from folio.jobs.runner import JobContext
from folio.models import Event

# Rows deleted per transaction, so a large backlog never holds locks for long.
_STEP = 5000


class PruneEvents:
    def __init__(self, retention: timedelta) -> None:
        self.retention = retention

    async def __call__(self, context: JobContext) -> None:
        cutoff = datetime.now(UTC) - self.retention
        deleted = 0
        while True:
            async with context.fenced() as session:
                oldest = select(Event.id).where(Event.created_at < cutoff).order_by(Event.id).limit(_STEP)
                result = await session.execute(delete(Event).where(Event.id.in_(oldest.scalar_subquery())))
            count = int(getattr(result, "rowcount", 0) or 0)
            deleted += count
            if count < _STEP:
                break
            await context.progress(50, f"deleted {deleted} events")
        await context.progress(100, f"deleted {deleted} events older than {cutoff.isoformat()}")
