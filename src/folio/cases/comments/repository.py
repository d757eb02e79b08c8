from __future__ import annotations

from uuid import UUID

from folio.auth.principal import Principal
from folio.models import CaseComment
from folio.pagination import Paged, PageRequest, paged
from folio.repository import ScopedRepository


class CommentRepository(ScopedRepository[CaseComment]):
    """Comments of the principal's organization; callers reach them through a case the principal sees."""

    model = CaseComment

    async def page_of_case(self, principal: Principal, case_id: UUID, page: PageRequest) -> Paged[CaseComment]:
        return await paged(
            self.session, self.scoped(principal).where(CaseComment.case_id == case_id), CaseComment.id, page
        )

    async def of_case(self, principal: Principal, case_id: UUID, comment_id: UUID) -> CaseComment | None:
        statement = self.scoped(principal).where(CaseComment.case_id == case_id, CaseComment.id == comment_id)
        comment: CaseComment | None = await self.session.scalar(statement.with_for_update())
        return comment
