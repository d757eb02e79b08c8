"""The outbox's retention: events older than `FOLIO_EVENTS__RETENTION_DAYS` are deleted by a periodic job, except
a case's (`case.*`), which are its history."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.jobs.retention import Prune
from folio.models import Event


async def delete_events_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    # The condition is the partial index's, so the scan never walks the kept history.
    prunable = Event.type.not_like("case.%")
    oldest = select(Event.id).where(Event.created_at < cutoff, prunable).order_by(Event.id).limit(limit)
    result = await session.execute(delete(Event).where(Event.id.in_(oldest.scalar_subquery())))
    return int(getattr(result, "rowcount", 0) or 0)


def prune_events(retention: timedelta) -> Prune:
    return Prune("events", retention, delete_events_before)
