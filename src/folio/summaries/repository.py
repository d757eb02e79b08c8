"""SQL for summaries, scoped to the principal's organization."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.models import Summary, SummaryStatus
from folio.pagination import Paged, PageRequest, paged


@dataclass(frozen=True, slots=True)
class SummaryFilters:
    document_id: UUID | None = None
    template_id: UUID | None = None
    status: SummaryStatus | None = None


class SummaryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def scoped(principal: Principal) -> Select[Summary]:
        return select(Summary).where(Summary.org_id == principal.org_id)

    async def get(self, principal: Principal, summary_id: UUID, *, for_update: bool = False) -> Summary | None:
        statement = self.scoped(principal).where(Summary.id == summary_id)
        summary: Summary | None = await self.session.scalar(statement.with_for_update() if for_update else statement)
        return summary

    async def page(self, principal: Principal, filters: SummaryFilters, page: PageRequest) -> Paged[Summary]:
        statement = self.scoped(principal)
        if filters.document_id is not None:
            statement = statement.where(Summary.document_id == filters.document_id)
        if filters.template_id is not None:
            statement = statement.where(Summary.template_id == filters.template_id)
        if filters.status is not None:
            statement = statement.where(Summary.status == filters.status)
        return await paged(self.session, statement, Summary.id, page)

    async def add(self, summary: Summary) -> None:
        self.session.add(summary)
        await self.session.flush()

    async def delete(self, summary: Summary) -> None:
        await self.session.delete(summary)
        await self.session.flush()
