"""SQL of the periodic digest: which organizations are due, who hears of it, and the row that sends it once."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from folio.models import Membership, Organization, Record, Role, UnitMembership
from folio.models.pulse_digest import PulseDigest

# Who is told of a digest: supervisors and every role above them.
TOLD = [role for role in Role if role.rank >= Role.SUPERVISOR.rank]


class PulseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def due(self, *, period_start: datetime, since: datetime, until: datetime) -> list[UUID]:
        """Organizations with a case opened in `[since, until)` and no digest of the period starting at
        `period_start` yet (each an index probe of its own cases)."""
        statement = (
            select(Organization.id)
            .where(
                exists().where(Record.org_id == Organization.id, Record.opened_at >= since, Record.opened_at < until),
                ~exists().where(PulseDigest.org_id == Organization.id, PulseDigest.period_start == period_start),
            )
            .order_by(Organization.id)
        )
        return list((await self.session.scalars(statement)).all())

    async def sent(self, org_id: UUID, period_start: datetime) -> bool:
        statement = select(exists().where(PulseDigest.org_id == org_id, PulseDigest.period_start == period_start))
        return bool(await self.session.scalar(statement))

    async def claim(
        self, org_id: UUID, *, period_start: datetime, period_end: datetime, generated_by: str
    ) -> UUID | None:
        """The new digest's id; None when the period's digest was already sent (by another worker or attempt)."""
        statement = (
            insert(PulseDigest)
            .values(org_id=org_id, period_start=period_start, period_end=period_end, generated_by=generated_by)
            .on_conflict_do_nothing(index_elements=["org_id", "period_start"])
            .returning(PulseDigest.id)
        )
        digest_id: UUID | None = await self.session.scalar(statement)
        return digest_id

    async def recipients(self, org_id: UUID, *, limit: int) -> list[UUID]:
        """Members from supervisor up who see every business unit: the digest's figures are the whole
        organization's, which a member limited to units may not see."""
        limited = exists().where(
            UnitMembership.org_id == Membership.org_id, UnitMembership.user_id == Membership.user_id
        )
        statement = (
            select(Membership.user_id)
            .where(Membership.org_id == org_id, Membership.role.in_(TOLD), ~limited)
            .order_by(Membership.created_at)
            .limit(limit)
        )
        return list((await self.session.scalars(statement)).all())
