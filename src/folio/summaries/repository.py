"""SQL for summaries, scoped to the principal's organization."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import ColumnElement, Select, select

from folio.auth.principal import Principal
from folio.models import Document, Summary, SummaryStatus
from folio.repository import ScopedRepository, sees_document


@dataclass(frozen=True, slots=True)
class SummaryFilters:
    document_id: UUID | None = None
    template_id: UUID | None = None
    status: SummaryStatus | None = None

    def where(self) -> list[ColumnElement[bool]]:
        """What a summary meets to pass the filters."""
        conditions: list[ColumnElement[bool]] = []
        if self.document_id is not None:
            conditions.append(Summary.document_id == self.document_id)
        if self.template_id is not None:
            conditions.append(Summary.template_id == self.template_id)
        if self.status is not None:
            conditions.append(Summary.status == self.status)
        return conditions


class SummaryRepository(ScopedRepository[Summary]):
    model = Summary

    def scoped(self, principal: Principal) -> Select[Summary]:
        """The organization's summaries of the documents the principal sees."""
        statement = super().scoped(principal)
        if principal.units is None:
            return statement
        return statement.where(
            Summary.document_id.in_(
                select(Document.id).where(Document.org_id == principal.org_id, sees_document(principal))
            )
        )
