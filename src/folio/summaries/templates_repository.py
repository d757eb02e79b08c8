"""SQL for prompt templates: an organization sees the built-in ones (no org_id) and its own, and writes its own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from folio.models import Organization, PromptTemplate, TemplateKind
from folio.pagination import PageRequest, keyset


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def visible(org_id: UUID) -> Select[PromptTemplate]:
        return select(PromptTemplate).where(or_(PromptTemplate.org_id.is_(None), PromptTemplate.org_id == org_id))

    async def get(self, org_id: UUID, template_id: UUID, *, for_update: bool = False) -> PromptTemplate | None:
        statement = self.visible(org_id).where(PromptTemplate.id == template_id)
        template: PromptTemplate | None = await self.session.scalar(
            statement.with_for_update() if for_update else statement
        )
        return template

    async def page(
        self, org_id: UUID, kind: TemplateKind | None, builtin: bool | None, page: PageRequest
    ) -> tuple[Sequence[Any], str | None]:
        statement = self.visible(org_id)
        if kind is not None:
            statement = statement.where(PromptTemplate.kind == kind)
        if builtin is not None:
            statement = statement.where(PromptTemplate.org_id.is_(None) if builtin else PromptTemplate.org_id == org_id)
        return await keyset(self.session, statement, PromptTemplate.id, page)

    async def default(self, org_id: UUID, kind: TemplateKind) -> PromptTemplate | None:
        """The organization's default of the kind, else the built-in default."""
        statement = (
            self.visible(org_id)
            .where(PromptTemplate.kind == kind, PromptTemplate.is_default)
            .order_by(PromptTemplate.org_id.is_(None))
            .limit(1)
        )
        template: PromptTemplate | None = await self.session.scalar(statement)
        return template

    async def lock_org(self, org_id: UUID) -> None:
        """Serialise an organization's template writes, so names and defaults are checked without races."""
        await self.session.execute(select(Organization.id).where(Organization.id == org_id).with_for_update())

    async def name_taken(self, org_id: UUID, name: str, *, other_than: UUID | None = None) -> bool:
        statement = select(PromptTemplate.id).where(PromptTemplate.org_id == org_id, PromptTemplate.name == name)
        if other_than is not None:
            statement = statement.where(PromptTemplate.id != other_than)
        return (await self.session.scalar(statement.limit(1))) is not None

    async def clear_default(self, org_id: UUID, kind: TemplateKind) -> None:
        await self.session.execute(
            update(PromptTemplate)
            .where(PromptTemplate.org_id == org_id, PromptTemplate.kind == kind, PromptTemplate.is_default)
            .values(is_default=False)
        )

    async def add(self, template: PromptTemplate) -> None:
        self.session.add(template)
        await self.session.flush()

    async def delete(self, template: PromptTemplate) -> None:
        await self.session.delete(template)
        await self.session.flush()
