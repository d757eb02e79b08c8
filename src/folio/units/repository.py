"""SQL for business units and the members limited to them. Every statement is scoped to the principal's
organization: the unit-membership table has no foreign key tying a unit to the member's organization, so the ids a
request names are checked here."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from uuid import UUID

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import aliased

from folio.auth.principal import Principal
from folio.auth.principal_cache import invalidate, member_tag
from folio.models import BusinessUnit, Membership, Record, UnitMembership, User
from folio.pagination import Paged, PageRequest, paged_rows
from folio.repository import ScopedRepository


class UnitRepository(ScopedRepository[BusinessUnit]):
    model = BusinessUnit

    async def count(self, principal: Principal) -> int:
        statement = select(func.count()).select_from(self.scoped(principal).subquery())
        return int(await self.session.scalar(statement) or 0)

    async def name_taken(self, principal: Principal, name: str, *, other_than: UUID | None = None) -> bool:
        statement = self.scoped(principal).where(func.lower(BusinessUnit.name) == name.lower())
        if other_than is not None:
            statement = statement.where(BusinessUnit.id != other_than)
        return await self.session.scalar(statement.limit(1)) is not None

    async def hold_units(self, principal: Principal, unit_ids: Collection[UUID]) -> Sequence[BusinessUnit]:
        """The organization's units among `unit_ids`, held (KEY SHARE) until the commit: a unit being deleted
        meanwhile is waited for and then missing, instead of failing the insert of a row that names it."""
        if not unit_ids:
            return []
        statement = self.scoped(principal).where(BusinessUnit.id.in_(unit_ids))
        return (await self.session.scalars(statement.with_for_update(read=True, key_share=True))).all()

    async def cases_of(self, unit: BusinessUnit) -> int:
        statement = select(func.count()).where(Record.org_id == unit.org_id, Record.unit_id == unit.id)
        return int(await self.session.scalar(statement) or 0)

    async def limited_to_only(self, unit: BusinessUnit, *, limit: int) -> tuple[list[UUID], int]:
        """The members limited to `unit` and no other (up to `limit` of them), and how many there are."""
        other = aliased(UnitMembership)
        only_this = (
            select(UnitMembership.user_id)
            .where(UnitMembership.org_id == unit.org_id, UnitMembership.unit_id == unit.id)
            .where(
                ~select(other.unit_id)
                .where(
                    other.org_id == UnitMembership.org_id,
                    other.user_id == UnitMembership.user_id,
                    other.unit_id != unit.id,
                )
                .exists()
            )
        )
        count = int(await self.session.scalar(select(func.count()).select_from(only_this.subquery())) or 0)
        listed = (await self.session.scalars(only_this.order_by(UnitMembership.user_id).limit(limit))).all()
        return list(listed), count

    async def page_members(
        self, principal: Principal, unit_id: UUID, page: PageRequest
    ) -> Paged[tuple[Membership, User]]:
        """The members limited to the unit (among others, perhaps), in user id order."""
        statement = (
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .join(
                UnitMembership,
                (UnitMembership.org_id == Membership.org_id) & (UnitMembership.user_id == Membership.user_id),
            )
            .where(Membership.org_id == principal.org_id, UnitMembership.unit_id == unit_id)
        )
        return await paged_rows(self.session, statement, Membership.user_id, page)

    async def member(self, principal: Principal, user_id: UUID, *, for_update: bool = False) -> Membership | None:
        """The member, locked for a change of their units: two changes of one member's units run one after the
        other, and a change of their role waits for it."""
        statement = select(Membership).where(Membership.org_id == principal.org_id, Membership.user_id == user_id)
        membership: Membership | None = await self.session.scalar(
            statement.with_for_update() if for_update else statement
        )
        return membership

    async def units_of_member(self, principal: Principal, user_id: UUID) -> Sequence[BusinessUnit]:
        """The units the member is limited to, by name (none: not limited)."""
        statement = (
            self.scoped(principal)
            .join(UnitMembership, UnitMembership.unit_id == BusinessUnit.id)
            .where(UnitMembership.org_id == principal.org_id, UnitMembership.user_id == user_id)
            .order_by(func.lower(BusinessUnit.name))
        )
        return (await self.session.scalars(statement)).all()

    async def set_member_units(
        self, principal: Principal, user_id: UUID, *, add: Collection[UUID], remove: Collection[UUID]
    ) -> None:
        invalidate(self.session, member_tag(principal.org_id, user_id))
        if remove:
            await self.session.execute(
                delete(UnitMembership).where(
                    UnitMembership.org_id == principal.org_id,
                    UnitMembership.user_id == user_id,
                    UnitMembership.unit_id.in_(remove),
                )
            )
        if add:
            rows = [{"org_id": principal.org_id, "user_id": user_id, "unit_id": unit_id} for unit_id in add]
            await self.session.execute(insert(UnitMembership), rows)
