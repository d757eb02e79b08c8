"""SQL for organizations and memberships."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Select, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.models import Membership, Organization, Role, User
from folio.pagination import PageRequest, keyset


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

    async def add(self, row: Organization | Membership) -> None:
        self.session.add(row)
        await self.session.flush()

    async def get_org(self, principal: Principal) -> Organization | None:
        return await self.session.get(Organization, principal.org_id)

    async def role_of(self, *, user_id: UUID, org_id: UUID) -> Role | None:
        role: Role | None = await self.session.scalar(
            select(Membership.role).where(Membership.user_id == user_id, Membership.org_id == org_id)
        )
        return role

    async def page_orgs_of_user(self, user_id: UUID, page: PageRequest) -> tuple[Sequence[Any], str | None]:
        statement = (
            select(Organization, Membership.role)
            .join(Membership, Membership.org_id == Organization.id)
            .where(Membership.user_id == user_id)
        )
        return await keyset(self.session, statement, Organization.id, page)

    async def page_members(self, principal: Principal, page: PageRequest) -> tuple[Sequence[Any], str | None]:
        return await keyset(self.session, self.scoped_members(principal), Membership.user_id, page)

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

    async def user_by_email(self, email: str) -> User | None:
        user: User | None = await self.session.scalar(select(User).where(User.email == email))
        return user
