"""SQL for cases: every statement starts from `scoped(principal)`, the cases of the principal's organization in the
business units it sees."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.cases.workflow import DONE
from folio.events.schemas import EventType, SubjectType
from folio.models import (
    BusinessUnit,
    CaseComment,
    CasePriority,
    CaseStatus,
    Document,
    DocumentContent,
    DocumentStatus,
    Enrichment,
    Event,
    Organization,
    Record,
)
from folio.pagination import Paged, PageRequest, newest_first_rows, paged_rows
from folio.repository import actor_name, sees_case

# A case is found by its id or by its number in the organization.
CaseKey = UUID | int
HISTORY_TYPES = (EventType.CASE_UPDATED.value, EventType.CASE_COMMENTED.value)


@dataclass(frozen=True, slots=True)
class CaseFilters:
    batch_id: UUID | None = None
    statuses: Collection[CaseStatus] = ()
    priorities: Collection[CasePriority] = ()
    unit_ids: Collection[UUID] = ()
    assigned_to: UUID | None = None
    unassigned: bool = False
    overdue: bool | None = None
    channel: str | None = None
    customer: str | None = None
    external_id: str | None = None
    occurred_after: datetime | None = None
    occurred_before: datetime | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    # Enrichment fields, by the enrichments of one schema: `data` holds all of `enrichment` (JSON containment).
    schema_id: UUID | None = None
    enrichment: dict[str, Any] = field(default_factory=dict)
    needs_review: bool | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None

    @property
    def on_enrichment(self) -> bool:
        return bool(self.enrichment) or self.needs_review is not None or self.confidence_bounded

    @property
    def confidence_bounded(self) -> bool:
        return self.min_confidence is not None or self.max_confidence is not None

    @property
    def on_document(self) -> bool:
        return self.created_after is not None or self.created_before is not None


class CaseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def scoped(principal: Principal) -> Select[Record, Document]:
        return (
            select(Record, Document)
            .join(Document, Document.id == Record.document_id)
            .where(Record.org_id == principal.org_id, sees_case(principal, Record.unit_id))
        )

    async def get(
        self, principal: Principal, key: CaseKey, *, for_update: bool = False
    ) -> tuple[Record, Document] | None:
        by = Record.number == key if isinstance(key, int) else Record.document_id == key
        statement = self.scoped(principal).where(by)
        if for_update:
            statement = statement.with_for_update(of=Record)
        row = (await self.session.execute(statement)).first()
        if row is None:
            return None
        record, document = row
        return record, document

    async def lock_many(self, principal: Principal, case_ids: Collection[UUID]) -> list[tuple[Record, Document]]:
        """The visible cases among `case_ids`, locked in id order (as every writer of several cases locks them, so
        two bulk updates wait for each other rather than deadlock)."""
        statement = (
            self.scoped(principal)
            .where(Record.document_id.in_(list(case_ids)))
            .order_by(Record.document_id)
            .with_for_update(of=Record)
        )
        return [(record, document) for record, document in (await self.session.execute(statement)).all()]

    async def page(
        self, principal: Principal, filters: CaseFilters, page: PageRequest
    ) -> Paged[tuple[Record, Document]]:
        return await paged_rows(self.session, self._filtered(principal, filters), Record.document_id, page)

    async def matching_ids(self, principal: Principal, filters: CaseFilters, limit: int) -> list[UUID]:
        """Ids of the searchable cases passing the filters, oldest first, at most `limit`."""
        statement = (
            self._filtered(principal, filters)
            .with_only_columns(Record.document_id)
            .where(Document.status == DocumentStatus.READY)
            .order_by(Record.document_id)
            .limit(limit)
        )
        return list(await self.session.scalars(statement))

    def _filtered(self, principal: Principal, filters: CaseFilters) -> Select[Record, Document]:
        return self.scoped(principal).where(*case_conditions(filters))

    async def texts(self, case_ids: Sequence[UUID]) -> dict[UUID, str]:
        rows = await self.session.execute(
            select(DocumentContent.document_id, DocumentContent.text).where(DocumentContent.document_id.in_(case_ids))
        )
        return {case_id: content for case_id, content in rows.all()}  # noqa: C416 (rows are not pairs to mypy)

    async def is_unit_of(self, org_id: UUID, unit_id: UUID) -> bool:
        found = await self.session.scalar(
            select(BusinessUnit.id).where(BusinessUnit.org_id == org_id, BusinessUnit.id == unit_id)
        )
        return found is not None

    # The organization's SLA hours.

    async def sla_overrides(self, org_id: UUID, *, for_update: bool = False) -> dict[str, int]:
        statement = select(Organization.sla_hours).where(Organization.id == org_id)
        overrides: dict[str, int] = (
            await self.session.scalar(statement.with_for_update() if for_update else statement) or {}
        )
        return overrides

    async def set_sla_overrides(self, org_id: UUID, overrides: dict[str, int]) -> None:
        organization = await self.session.get_one(Organization, org_id)
        organization.sla_hours = overrides
        await self.session.flush()

    # History: the case's stored events.

    async def history(self, case: Record, page: PageRequest) -> Paged[tuple[Event, str | None]]:
        """The case's events newest first, each with its actor's name (a user's, an API key's)."""
        statement = select(Event, actor_name()).where(
            Event.org_id == case.org_id,
            Event.subject_type == SubjectType.CASE.value,
            Event.subject_id == case.document_id,
            Event.type.in_(HISTORY_TYPES),
        )
        return await newest_first_rows(self.session, statement, Event.id, page)

    async def existing_comments(self, case: Record, comment_ids: Collection[UUID]) -> set[UUID]:
        if not comment_ids:
            return set()
        found = await self.session.scalars(
            select(CaseComment.id).where(
                CaseComment.org_id == case.org_id,
                CaseComment.case_id == case.document_id,
                CaseComment.id.in_(list(comment_ids)),
            )
        )
        return set(found)


def case_conditions(filters: CaseFilters) -> list[ColumnElement[bool]]:
    """What `filters` ask of a case, over `Record` (and `Document` for the import times: `filters.on_document`)."""
    conditions: list[ColumnElement[bool]] = []
    equal: list[tuple[Any, Any]] = [
        (Record.batch_id, filters.batch_id),
        (Record.assigned_to, filters.assigned_to),
        (Record.channel, filters.channel),
        (Record.customer, filters.customer),
        (Record.external_id, filters.external_id),
    ]
    conditions += [column == value for column, value in equal if value is not None]
    one_of: list[tuple[Any, Collection[Any]]] = [
        (Record.case_status, filters.statuses),
        (Record.priority, filters.priorities),
        (Record.unit_id, filters.unit_ids),
    ]
    conditions += [column.in_(list(values)) for column, values in one_of if values]
    if filters.unassigned:
        conditions.append(Record.assigned_to.is_(None))
    if filters.overdue is not None:
        overdue = (Record.due_at < func.now()) & Record.case_status.not_in(DONE)
        conditions.append(overdue if filters.overdue else ~overdue)
    ranges: list[tuple[Any, datetime | None, datetime | None]] = [
        (Record.occurred_at, filters.occurred_after, filters.occurred_before),
        (Document.created_at, filters.created_after, filters.created_before),
    ]
    for column, after, before in ranges:
        if after is not None:
            conditions.append(column >= after)
        if before is not None:
            conditions.append(column < before)
    if filters.on_enrichment:
        conditions.append(exists(_enrichment_matching(filters)))
    return conditions


def _enrichment_matching(filters: CaseFilters) -> Select[tuple[int]]:
    matching = select(1).where(Enrichment.document_id == Record.document_id, Enrichment.org_id == Record.org_id)
    if filters.schema_id is not None:
        matching = matching.where(Enrichment.schema_id == filters.schema_id)
    if filters.enrichment:
        matching = matching.where(Enrichment.data.contains(filters.enrichment))
    if filters.needs_review is not None:
        matching = matching.where(Enrichment.needs_review.is_(filters.needs_review))
    if filters.min_confidence is not None:
        matching = matching.where(Enrichment.confidence >= filters.min_confidence)
    if filters.max_confidence is not None:
        matching = matching.where(Enrichment.confidence <= filters.max_confidence)
    return matching
