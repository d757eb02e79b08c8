"""SQL for plans: an organization's plan, and what it holds of each thing a plan limits."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Row, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from folio.models import DocumentTally, Integration, Invitation, InvitationStatus, Membership, Organization


class PlanRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def plan_type(self, org_id: UUID) -> Row[str | None] | None:
        """The organization's `plan_type` (None: the default plan), or None when there is no such organization."""
        statement = select(Organization.plan_type).where(Organization.id == org_id)
        return (await self.session.execute(statement)).one_or_none()

    async def set_plan_type(self, org_id: UUID, plan: str) -> bool:
        """False when there is no such organization."""
        changed = await self.session.execute(
            update(Organization).where(Organization.id == org_id).values(plan_type=plan).returning(Organization.id)
        )
        return changed.first() is not None

    async def documents(self, org_id: UUID) -> tuple[int, int]:
        """The organization's documents (cases included) and their stored bytes, summed from the tallies the
        triggers keep (an index-only read of a few rows per organization, not a scan of its documents)."""
        row = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(DocumentTally.documents), 0),
                    func.coalesce(func.sum(DocumentTally.bytes), 0),
                ).where(DocumentTally.org_id == org_id)
            )
        ).one()
        return int(row[0]), int(row[1])

    async def members(self, org_id: UUID, now: datetime) -> tuple[int, int]:
        """The organization's members and its pending invitations that have not expired."""
        members = select(func.count()).select_from(Membership).where(Membership.org_id == org_id).scalar_subquery()
        pending = (
            select(func.count())
            .select_from(Invitation)
            .where(
                Invitation.org_id == org_id,
                Invitation.status == InvitationStatus.PENDING,
                Invitation.expires_at > now,
            )
            .scalar_subquery()
        )
        row = (await self.session.execute(select(members, pending))).one()
        return int(row[0]), int(row[1])

    async def integrations(self, org_id: UUID) -> int:
        statement = select(func.count()).select_from(Integration).where(Integration.org_id == org_id)
        return int(await self.session.scalar(statement) or 0)
