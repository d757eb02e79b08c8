"""SQL shared by the tables an organization reads as a catalog: built-in rows (no organization) that every
organization sees and nobody changes, and the organization's own, with unique names and defaults."""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped


class CatalogRow(Protocol):
    id: Mapped[UUID]
    org_id: Mapped[UUID | None]
    name: Mapped[str]
    is_default: Mapped[bool]


Row = TypeVar("Row", bound=CatalogRow)


class CatalogRepository(Generic[Row]):
    model: type[Row]

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def visible(self, org_id: UUID) -> Select[Row]:
        return select(self.model).where(or_(self.model.org_id.is_(None), self.model.org_id == org_id))

    async def get(self, org_id: UUID, row_id: UUID, *, for_update: bool = False) -> Row | None:
        statement = self.visible(org_id).where(self.model.id == row_id)
        row: Row | None = await self.session.scalar(statement.with_for_update() if for_update else statement)
        return row

    def filtered(self, org_id: UUID, builtin: bool | None) -> Select[Row]:
        """Every row the organization sees, or only the built-in ones (True) or its own (False)."""
        statement = self.visible(org_id)
        if builtin is not None:
            statement = statement.where(self.model.org_id.is_(None) if builtin else self.model.org_id == org_id)
        return statement

    async def first_default(self, statement: Select[Row]) -> Row | None:
        """Among `statement`'s rows, the organization's default, else the built-in default."""
        row: Row | None = await self.session.scalar(
            statement.where(self.model.is_default).order_by(self.model.org_id.is_(None)).limit(1)
        )
        return row

    async def name_taken(self, org_id: UUID, name: str, *, other_than: UUID | None = None) -> bool:
        statement = select(self.model.id).where(self.model.org_id == org_id, self.model.name == name)
        if other_than is not None:
            statement = statement.where(self.model.id != other_than)
        return (await self.session.scalar(statement.limit(1))) is not None

    async def add(self, row: Row) -> None:
        self.session.add(row)
        await self.session.flush()

    async def delete(self, row: Row) -> None:
        await self.session.delete(row)
        await self.session.flush()
