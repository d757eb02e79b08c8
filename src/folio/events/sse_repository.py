from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.models import Event, Job


async def job_and_newest_event(session: AsyncSession, principal: Principal, job_id: UUID) -> tuple[Job, int] | None:
    """The principal's organization's job and the newest stored event id, read by one statement (one snapshot):
    the job's state is what its events up to that id made it, and every later change comes with a later id."""
    newest = select(func.coalesce(func.max(Event.id), 0)).scalar_subquery()
    statement = select(Job, newest).where(Job.id == job_id, Job.org_id == principal.org_id)
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else (row[0], row[1])
