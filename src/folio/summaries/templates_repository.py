"""SQL for prompt templates: an organization sees the built-in ones (no org_id) and its own, and writes its own."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import update

from folio.catalog import CatalogRepository
from folio.models import PromptTemplate, TemplateKind
from folio.pagination import Paged, PageRequest, paged


class TemplateRepository(CatalogRepository[PromptTemplate]):
    model = PromptTemplate

    async def page_of(
        self, org_id: UUID, kind: TemplateKind | None, builtin: bool | None, page: PageRequest
    ) -> Paged[PromptTemplate]:
        statement = self.filtered(org_id, builtin)
        if kind is not None:
            statement = statement.where(PromptTemplate.kind == kind)
        return await paged(self.session, statement, PromptTemplate.id, page)

    async def default(self, org_id: UUID, kind: TemplateKind) -> PromptTemplate | None:
        """The organization's default of the kind, else the built-in default."""
        return await self.first_default(self.visible(org_id).where(PromptTemplate.kind == kind))

    async def clear_default(self, org_id: UUID, kind: TemplateKind) -> None:
        await self.session.execute(
            update(PromptTemplate)
            .where(PromptTemplate.org_id == org_id, PromptTemplate.kind == kind, PromptTemplate.is_default)
            .values(is_default=False)
        )
