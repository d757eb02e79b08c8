"""Cases: read and listed (with saved views), changed one at a time or in bulk through the workflow, their history,
their enrichment on demand, and the organization's SLA hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from folio.alerts import evaluation as alerts
from folio.audit.service import AuditAction, audit
from folio.auth.principal import Principal
from folio.cases import workflow
from folio.cases.changes import Asked, CaseEditor
from folio.cases.errors import CaseNotFound, ViewFiltersInvalid
from folio.cases.repository import CaseFilters, CaseKey, CaseRepository
from folio.cases.schemas import CaseQuery, CaseQueryParams
from folio.cases.views import service as views
from folio.enrichment import service as enrichment
from folio.errors import ValidationFailed
from folio.events.outbox import Audience, actor_of, emit
from folio.events.schemas import CaseData, Change, EventType, Subject, SubjectType
from folio.inbox.service import NotificationKind, notify
from folio.models import CasePriority, Document, Enrichment, Event, Job, Record
from folio.pagination import Paged, PageRequest


@dataclass(frozen=True, slots=True)
class CaseView:
    record: Record
    document: Document
    text: str
    enrichments: list[tuple[Enrichment, str]]


async def find(session: AsyncSession, *, principal: Principal, key: CaseKey) -> tuple[Record, Document]:
    """The case the principal sees by its id or number, or CaseNotFound."""
    found = await CaseRepository(session).get(principal, key)
    if found is None:
        raise CaseNotFound()
    return found


async def get_case(session: AsyncSession, *, principal: Principal, case_id: UUID) -> CaseView:
    return (await _views(session, principal, [await find(session, principal=principal, key=case_id)]))[0]


async def view_of(session: AsyncSession, *, principal: Principal, case: tuple[Record, Document]) -> CaseView:
    return (await _views(session, principal, [case]))[0]


async def filters_of(session: AsyncSession, *, principal: Principal, query: CaseQuery) -> CaseFilters:
    filters = CaseFilters(
        batch_id=query.batch_id,
        statuses=query.status,
        priorities=query.priority,
        unit_ids=query.unit_id,
        assigned_to=query.assigned_to,
        unassigned=query.unassigned,
        overdue=query.overdue,
        channel=query.channel,
        customer=query.customer,
        external_id=query.external_id,
        occurred_after=query.occurred_after,
        occurred_before=query.occurred_before,
        created_after=query.created_after,
        created_before=query.created_before,
        enrichment=query.enrichment(),
        needs_review=query.needs_review,
        min_confidence=query.min_confidence,
        max_confidence=query.max_confidence,
    )
    if not filters.on_enrichment:
        return filters
    schema = await enrichment.schema_or_default(session, principal=principal, schema_id=query.schema_id)
    return replace(filters, schema_id=schema.id)


async def page_cases(session: AsyncSession, *, principal: Principal, query: CaseQueryParams) -> Paged[CaseView]:
    """The cases the filters match, oldest first; a saved view's filters first, those of the request over them."""
    chosen = await with_view(session, principal=principal, query=query, view_id=query.view)
    filters = await filters_of(session, principal=principal, query=chosen)
    found = await CaseRepository(session).page(principal, filters, query.page())
    return Paged(await _views(session, principal, found.items), found.next_cursor)


async def with_view(
    session: AsyncSession, *, principal: Principal, query: CaseQuery, view_id: UUID | None
) -> CaseQuery:
    """The saved view's filters, and over them those `query` names itself; `query` alone without a view."""
    if view_id is None:
        return query
    saved = await views.get_view(session, principal=principal, view_id=view_id)
    try:
        return CaseQuery.model_validate(saved.filters | query.explicit_filters())
    except ValidationError as error:
        fields = sorted({".".join(str(part) for part in item["loc"]) for item in error.errors()})
        raise ViewFiltersInvalid(details={"view": str(saved.id), "fields": fields}) from error


async def update_case(
    session: AsyncSession, *, principal: Principal, case_id: UUID, fields: dict[str, Any]
) -> CaseView:
    """Make the changes `fields` names (status, priority, assigned_to, unit_id), checked, with one event."""
    found = await CaseRepository(session).get(principal, case_id, for_update=True)
    if found is None:
        raise CaseNotFound()
    record, document = found
    changes = await CaseEditor(session, principal, Asked(**fields)).apply(record)
    await _changed(session, principal, record, document, changes)
    await session.flush()
    if changes:
        await alerts.evaluate_changed(session, org_id=record.org_id, document_ids=[record.document_id])
    # Read again: the flush expired the columns the database sets (`updated_at`).
    return await get_case(session, principal=principal, case_id=case_id)


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    updated: list[UUID]
    unchanged: list[UUID]


async def bulk_update(
    session: AsyncSession, *, principal: Principal, case_ids: Sequence[UUID], fields: dict[str, Any], limit: int
) -> BulkOutcome:
    """The same changes to every case, all or nothing: a case the principal does not see (404) or one that cannot
    make the move (409, 403, 422) fails the whole request, naming that case. One event per case changed."""
    wanted = sorted(set(case_ids))
    if len(wanted) > limit:
        raise ValidationFailed(f"At most {limit} cases at once.", details={"field": "ids", "max": limit})
    found = await CaseRepository(session).lock_many(principal, wanted)
    missing = sorted(set(wanted) - {record.document_id for record, _ in found})
    if missing:
        raise CaseNotFound(details={"id": str(missing[0]), "ids": [str(case_id) for case_id in missing]})
    editor = CaseEditor(session, principal, Asked(**fields))
    changed = [(record, document, await editor.apply(record, case_id=record.document_id)) for record, document in found]
    for record, document, changes in changed:
        await _changed(session, principal, record, document, changes)
    await session.flush()
    updated = [record.document_id for record, _, changes in changed if changes]
    await alerts.evaluate_changed(session, org_id=principal.org_id, document_ids=updated)
    return BulkOutcome(updated=updated, unchanged=[record.document_id for record, _, changes in changed if not changes])


async def _changed(
    session: AsyncSession, principal: Principal, record: Record, document: Document, changes: list[Change]
) -> None:
    """The event of a case's changes, for the members who see its (new) unit, and the new assignee's notice."""
    if not changes:
        return
    number = workflow.case_number(record.number)
    data = CaseData(
        number=number,
        changes=changes,
        status=record.case_status.value,
        priority=record.priority.value,
        assigned_to=record.assigned_to,
        unit_id=record.unit_id,
    )
    actor = actor_of(principal)
    emit(
        session,
        org_id=record.org_id,
        type=EventType.CASE_UPDATED,
        subject_id=record.document_id,
        data=data,
        actor=actor,
        audience=Audience.unit(record.unit_id),
    )
    if record.assigned_to is not None and any(change.field == "assigned_to" for change in changes):
        await notify(
            session,
            org_id=record.org_id,
            recipients=[record.assigned_to],
            kind=NotificationKind.CASE_ASSIGNED,
            title=f"{number} was assigned to you",
            body=document.title,
            subject=Subject(type=SubjectType.CASE, id=record.document_id),
            actor=actor,
            unit_id=record.unit_id,
        )


@dataclass(frozen=True, slots=True)
class HistoryItem:
    event: Event
    actor_name: str | None
    # For a comment's event: whether the comment is still there.
    comment_exists: bool


async def history(
    session: AsyncSession, *, principal: Principal, case: Record, page: PageRequest
) -> Paged[HistoryItem]:
    """The case's changes and comments, newest first, from its stored events (kept for the events' retention)."""
    repository = CaseRepository(session)
    found = await repository.history(case, page)
    commented = {
        UUID(event.data["comment_id"]) for event, _ in found.items if event.type == EventType.CASE_COMMENTED.value
    }
    existing = await repository.existing_comments(case, commented)
    items = [
        HistoryItem(event, name, "comment_id" in event.data and UUID(event.data["comment_id"]) in existing)
        for event, name in found.items
    ]
    return Paged(items, found.next_cursor)


def actor_name(event: Event, name: str | None) -> str:
    """Who an event's actor is, for people: Folio for the system, and a name even once the actor is gone."""
    if event.actor_type == "system":
        return "Folio"
    return name or ("A deleted member" if event.actor_type == "user" else "A revoked API key")


async def enrich_cases(
    session: AsyncSession,
    *,
    principal: Principal,
    query: CaseQuery,
    schema_id: UUID | None,
    template_id: UUID | None,
    instructions: str | None,
    limit: int,
    max_attempts: int,
) -> tuple[Job | None, int]:
    """One job enriching every searchable case the filters match (at most `limit`)."""
    schema = await enrichment.schema_or_default(session, principal=principal, schema_id=schema_id)
    await enrichment.check_template(session, principal=principal, template_id=template_id)
    filters = await filters_of(session, principal=principal, query=query)
    case_ids = await CaseRepository(session).matching_ids(principal, filters, limit)
    job = await enrichment.request(
        session,
        principal=principal,
        document_ids=case_ids,
        schema=schema,
        max_attempts=max_attempts,
        template_id=template_id,
        instructions=instructions,
    )
    return job, len(case_ids)


async def sla_overrides(session: AsyncSession, *, principal: Principal) -> dict[str, int]:
    return await CaseRepository(session).sla_overrides(principal.org_id)


async def set_sla_hours(
    session: AsyncSession, *, principal: Principal, hours: dict[CasePriority, int]
) -> dict[str, int]:
    """Replace the organization's SLA hours (a priority left out takes the default). Cases keep their due time
    until their priority changes: nothing is recomputed."""
    repository = CaseRepository(session)
    before = await repository.sla_overrides(principal.org_id, for_update=True)
    after = {priority.value: hours for priority, hours in sorted(hours.items())}
    await repository.set_sla_overrides(principal.org_id, after)
    await audit(
        session,
        org_id=principal.org_id,
        action=AuditAction.CASE_SETTINGS_UPDATED,
        actor=principal,
        details={"sla_hours": {"before": before, "after": after}},
    )
    return after


async def _views(
    session: AsyncSession, principal: Principal, rows: Sequence[tuple[Record, Document]]
) -> list[CaseView]:
    ids = [record.document_id for record, _ in rows]
    texts = await CaseRepository(session).texts(ids)
    enrichments: dict[UUID, list[tuple[Enrichment, str]]] = {case_id: [] for case_id in ids}
    for item, name in await enrichment.of_documents(session, principal=principal, document_ids=ids):
        enrichments[item.document_id].append((item, name))
    return [
        CaseView(record, document, texts.get(record.document_id, ""), enrichments[record.document_id])
        for record, document in rows
    ]
