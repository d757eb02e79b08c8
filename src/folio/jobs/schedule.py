"""Periodic work: jobs the deployment runs on a schedule (event retention, orphaned files, later syncs and digests).

Each periodic job is an ordinary durable job of no organization, enqueued when its `schedules` row is due. Every
process that runs jobs looks for due rows with the reaper; a due row is locked with SKIP LOCKED, so exactly one
process enqueues each period, and nobody waits for another. A period whose previous job has not finished is
skipped rather than piled up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.db import table
from folio.jobs.service import enqueue_system
from folio.models import Job, Schedule

MAX_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Periodic:
    """A job kind run every `every`; its name is the job's kind."""

    kind: str
    every: timedelta


class Scheduler:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], periodics: Sequence[Periodic]) -> None:
        self.sessionmaker = sessionmaker
        self.periodics = {periodic.kind: periodic for periodic in periodics}
        self._registered = False

    async def tick(self) -> list[UUID]:
        """Enqueue the periodic jobs that are due; their ids."""
        if not self.periodics:
            return []
        async with self.sessionmaker() as session, session.begin():
            if not self._registered:
                await self._register(session)
            now = datetime.now(UTC)
            due = (
                await session.scalars(
                    select(Schedule)
                    .where(Schedule.name.in_(self.periodics), Schedule.next_run_at <= now)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            enqueued = []
            for schedule in due:
                periodic = self.periodics[schedule.name]
                schedule.next_run_at = now + periodic.every
                if await self._still_running(session, schedule.last_job_id):
                    continue
                job = enqueue_system(session, kind=periodic.kind, max_attempts=MAX_ATTEMPTS)
                schedule.last_job_id = job.id
                enqueued.append(job.id)
        self._registered = True
        return enqueued

    async def _register(self, session: AsyncSession) -> None:
        """A row per periodic job, due at once when new; a changed period applies from the next run."""
        statement = insert(table(Schedule)).values(
            [
                {"name": kind, "every_seconds": periodic.every.total_seconds(), "next_run_at": datetime.now(UTC)}
                for kind, periodic in self.periodics.items()
            ]
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["name"], set_={"every_seconds": statement.excluded.every_seconds}
            )
        )

    @staticmethod
    async def _still_running(session: AsyncSession, job_id: UUID | None) -> bool:
        if job_id is None:
            return False
        status = await session.scalar(select(Job.status).where(Job.id == job_id))
        return status is not None and not status.finished
