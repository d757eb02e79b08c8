"""Events committed straight through the outbox, for tests that need some in an organization's stream."""

from __future__ import annotations

from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.events.outbox import emit
from folio.events.schemas import CaseData, EventType


async def commit_records(sessionmaker: async_sessionmaker[AsyncSession], org_id: UUID, count: int = 1) -> list[UUID]:
    """`count` case.updated events of the organization, committed together (and published, if the sessionmaker
    reaches a bus); their subjects' ids."""
    subjects = [uuid4() for _ in range(count)]
    async with sessionmaker() as session, session.begin():
        for subject in subjects:
            data = CaseData(number="C-000001", changes=[], status="open", priority="normal")
            emit(session, org_id=org_id, type=EventType.CASE_UPDATED, subject_id=subject, data=data)
    return subjects
