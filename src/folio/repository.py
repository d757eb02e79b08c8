"""The base of a repository over one tenant-owned table: every statement a request runs starts from
`scoped(principal)`, so reading another organization's rows takes a statement written on purpose."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, ScalarSelect, Select, exists, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped

from folio.auth.principal import Principal
from folio.ingestion.extracted import FileKind
from folio.models import ApiKey, Document, Event, Organization, Record, UnitMembership, User
from folio.pagination import Paged, PageRequest, paged


def units_of(org_id: Mapped[UUID], user_id: Mapped[UUID]) -> ScalarSelect[list[UUID]]:
    """The business units a member is limited to, as an array (empty: not limited)."""
    return (
        select(func.array_agg(UnitMembership.unit_id))
        .where(UnitMembership.org_id == org_id, UnitMembership.user_id == user_id)
        .scalar_subquery()
    )


def restriction(unit_ids: list[UUID] | None) -> frozenset[UUID] | None:
    """`Principal.units` from `units_of`: None (every unit) when the member is limited to none."""
    return frozenset(unit_ids) if unit_ids else None


def actor_name() -> ScalarSelect[str | None]:
    """The name of an event's actor, for a statement over `Event`: the member's or the API key's (None for the
    system, and once the member or key is gone)."""
    return (
        select(User.name)
        .where(Event.actor_type == "user", User.id == Event.actor_id)
        .union_all(select(ApiKey.name).where(Event.actor_type == "api_key", ApiKey.id == Event.actor_id))
        .limit(1)
        .scalar_subquery()
    )


def sees_case(principal: Principal, unit_id: Mapped[UUID | None]) -> ColumnElement[bool]:
    """Whether a case of unit `unit_id` is visible: a principal limited to some units sees only their cases (not
    those of another unit, nor those of none)."""
    if principal.units is None:
        return true()
    return unit_id.in_(principal.units)


def sees_document(principal: Principal) -> ColumnElement[bool]:
    """Whether a document is visible to the principal: every document but the cases it may not see."""
    if principal.units is None:
        return true()
    visible_case = exists().where(Record.document_id == Document.id, sees_case(principal, Record.unit_id))
    return or_(Document.kind != FileKind.RECORD, visible_case)


async def lock_org(session: AsyncSession, org_id: UUID) -> None:
    """Serialise a kind of write of the organization until the commit, so that a count or a unique name checked
    under it stays true. FOR NO KEY UPDATE: rows that merely reference the organization are not held up, above all
    the events every transaction stores at its commit under the events lock (`folio.events.outbox`), which a FOR
    UPDATE here would deadlock with."""
    await session.execute(select(Organization.id).where(Organization.id == org_id).with_for_update(key_share=True))


class OrgOwned(Protocol):
    id: Mapped[UUID]
    org_id: Mapped[UUID]


M = TypeVar("M", bound=OrgOwned)


class ScopedRepository(Generic[M]):
    model: type[M]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def scoped(self, principal: Principal) -> Select[M]:
        """The rows the principal may see: its organization's (a subclass may narrow them further)."""
        return select(self.model).where(self.model.org_id == principal.org_id)

    async def add(self, row: M) -> None:
        self.session.add(row)
        await self.session.flush()

    async def get(self, principal: Principal, row_id: UUID, *, for_update: bool = False) -> M | None:
        statement = self.scoped(principal).where(self.model.id == row_id)
        row: M | None = await self.session.scalar(statement.with_for_update() if for_update else statement)
        return row

    async def page(self, principal: Principal, page: PageRequest, *where: ColumnElement[bool]) -> Paged[M]:
        """The principal's rows that meet every `where` condition, in id order."""
        return await paged(self.session, self.scoped(principal).where(*where), self.model.id, page)

    async def delete(self, row: M) -> None:
        await self.session.delete(row)
        await self.session.flush()
