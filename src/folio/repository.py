"""The base of a repository over one tenant-owned table: every statement a request runs starts from
`scoped(principal)`, so reading another organization's rows takes a statement written on purpose."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped

from folio.auth.principal import Principal
from folio.pagination import Paged, PageRequest, paged


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
