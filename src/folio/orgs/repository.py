"""SQL for organizations, memberships and invitations.

Every statement is scoped to the principal's organization, except the invitee's own: those are scoped to the
signed-in user's email, since an invitee is not a member yet.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.auth.principal_cache import invalidate, member_tag
from folio.models import Invitation, InvitationStatus, Membership, Organization, Role, UnitMembership, User
from folio.pagination import Paged, PageRequest, paged, paged_rows


class OrgRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def scoped_members(principal: Principal) -> Select[Membership, User]:
        return (
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.org_id == principal.org_id)
        )

    @staticmethod
    def scoped_invitations(principal: Principal) -> Select[Invitation]:
        return select(Invitation).where(Invitation.org_id == principal.org_id)

    async def add(self, row: Organization | Membership | Invitation) -> None:
        self.session.add(row)
        await self.session.flush()

    async def get_org(self, principal: Principal) -> Organization | None:
        return await self.session.get(Organization, principal.org_id)

    async def clear_units(self, *, org_id: UUID, user_id: UUID) -> None:
        await self.session.execute(
            delete(UnitMembership).where(UnitMembership.org_id == org_id, UnitMembership.user_id == user_id)
        )

    async def role_of(self, *, user_id: UUID, org_id: UUID) -> Role | None:
        role: Role | None = await self.session.scalar(
            select(Membership.role).where(Membership.user_id == user_id, Membership.org_id == org_id)
        )
        return role

    async def page_orgs_of_user(self, user_id: UUID, page: PageRequest) -> Paged[tuple[Organization, Role]]:
        statement = (
            select(Organization, Membership.role)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == user_id)
        )
        return await paged_rows(self.session, statement, Organization.id, page)

    async def page_members(self, principal: Principal, page: PageRequest) -> Paged[tuple[Membership, User]]:
        return await paged_rows(self.session, self.scoped_members(principal), Membership.user_id, page)

    async def member_for_update(self, principal: Principal, user_id: UUID) -> tuple[Membership, User] | None:
        statement = self.scoped_members(principal).where(Membership.user_id == user_id).with_for_update()
        row = (await self.session.execute(statement)).first()
        if row is None:
            return None
        membership, user = row
        return membership, user

    async def lock_owner_ids(self, principal: Principal) -> list[UUID]:
        """The owners' ids, their rows locked so two concurrent demotions cannot both pass the last-owner rule."""
        statement = (
            select(Membership.user_id)
            .where(Membership.org_id == principal.org_id, Membership.role == Role.OWNER)
            .with_for_update()
        )
        return list((await self.session.scalars(statement)).all())

    async def remove_member(self, principal: Principal, user_id: UUID) -> None:
        await self.session.execute(
            delete(Membership).where(Membership.org_id == principal.org_id, Membership.user_id == user_id)
        )
        invalidate(self.session, member_tag(principal.org_id, user_id))

    async def has_member_with_email(self, principal: Principal, email: str) -> bool:
        found = await self.session.scalar(
            self.scoped_members(principal).with_only_columns(User.id).where(User.email == email)
        )
        return found is not None

    async def pending_invitation_for_update(self, principal: Principal, email: str) -> Invitation | None:
        """The open invitation of this address, expired or not (the unique index allows one)."""
        statement = self.scoped_invitations(principal).where(
            Invitation.email == email, Invitation.status == InvitationStatus.PENDING
        )
        invitation: Invitation | None = await self.session.scalar(statement.with_for_update())
        return invitation

    async def count_pending(self, principal: Principal, now: datetime) -> int:
        statement = select(func.count()).select_from(
            self.scoped_invitations(principal).where(*_pending(now)).subquery()
        )
        return int(await self.session.scalar(statement) or 0)

    async def page_pending(self, principal: Principal, page: PageRequest, now: datetime) -> Paged[Invitation]:
        return await paged(self.session, self.scoped_invitations(principal).where(*_pending(now)), Invitation.id, page)

    async def invitation_for_update(
        self, principal: Principal, invitation_id: UUID, now: datetime
    ) -> Invitation | None:
        statement = self.scoped_invitations(principal).where(Invitation.id == invitation_id, *_pending(now))
        invitation: Invitation | None = await self.session.scalar(statement.with_for_update())
        return invitation

    async def revoke_invitations_by(self, principal: Principal, user_id: UUID, now: datetime) -> None:
        await self.session.execute(
            update(Invitation)
            .where(
                Invitation.org_id == principal.org_id,
                Invitation.invited_by == user_id,
                Invitation.status == InvitationStatus.PENDING,
            )
            .values(status=InvitationStatus.REVOKED, closed_at=now)
        )

    async def email_of(self, user_id: UUID) -> str | None:
        email: str | None = await self.session.scalar(select(User.email).where(User.id == user_id))
        return email

    async def page_invitations_to(
        self, email: str, page: PageRequest, now: datetime
    ) -> Paged[tuple[Invitation, Organization]]:
        statement = (
            select(Invitation, Organization)
            .join(Organization, Organization.id == Invitation.org_id)
            .where(Invitation.email == email, *_pending(now))
        )
        return await paged_rows(self.session, statement, Invitation.id, page)

    async def invitation_to_for_update(self, email: str, invitation_id: UUID, now: datetime) -> Invitation | None:
        statement = select(Invitation).where(Invitation.id == invitation_id, Invitation.email == email, *_pending(now))
        invitation: Invitation | None = await self.session.scalar(statement.with_for_update())
        return invitation


def _pending(now: datetime) -> tuple[Any, ...]:
    return (Invitation.status == InvitationStatus.PENDING, Invitation.expires_at > now)
