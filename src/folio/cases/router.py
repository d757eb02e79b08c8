from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query, status

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.cases import service, workflow
from folio.cases.comments import router as comments
from folio.cases.deps import CaseId, ReadableCase, Reader, Writer
from folio.cases.errors import (
    AssigneeNotMember,
    CaseActionForbidden,
    CaseNotFound,
    CaseTransitionInvalid,
    CaseUnitInvalid,
    ViewFiltersInvalid,
    ViewNotFound,
)
from folio.cases.schemas import (
    BulkResult,
    BulkUpdate,
    CaseQueryParams,
    CaseRead,
    CasesEnrich,
    CasesEnrichAccepted,
    CaseSettingsRead,
    CaseSettingsUpdate,
    CaseUpdate,
    HistoryActor,
    HistoryComment,
    HistoryEntry,
)
from folio.cases.views import router as views
from folio.deps import API_V1, PageDep, SessionDep, SettingsDep
from folio.enrichment.errors import EnrichmentSchemaNotFound
from folio.enrichment.schemas import EnrichmentRead
from folio.errors import Forbidden
from folio.events.schemas import Change
from folio.models import CasePriority
from folio.pagination import Page
from folio.routing import Router
from folio.summaries.errors import TemplateNotFound, TemplateWrongKind

cases = Router(prefix=f"{API_V1}/cases", tags=["cases"])
Admin = Annotated[Principal, requires(Scope.ADMIN)]
_CHANGE_ERRORS = (CaseNotFound, CaseTransitionInvalid, CaseActionForbidden, AssigneeNotMember)

_WORKFLOW = (
    "Statuses: `open` → `in_progress` ⇄ `waiting` (and back to `open`), any of them → `resolved` → `closed`; a "
    "resolved or closed case is reopened to `open`. Any other move answers 409 `CASE_TRANSITION_INVALID` with "
    "`details.allowed`. Editors move cases between open, in_progress and waiting, change priorities, take an "
    "unassigned case or give up their own; supervisors and above also assign anyone, resolve, close and reopen; "
    "business-unit managers and above move cases between the units they see (403 `CASE_ACTION_FORBIDDEN` "
    "otherwise). An assignee is a member, editor or above, who sees the case's unit (422 `ASSIGNEE_NOT_MEMBER`)."
)


@cases.get(
    "",
    response_model=Page[CaseRead],
    responses=authenticated(Forbidden, EnrichmentSchemaNotFound, ViewNotFound, ViewFiltersInvalid),
    summary="List cases with filters, oldest first",
    description="Filters combine with AND; a repeated one (`status=open&status=waiting`) matches any of its values. "
    "`view` applies a saved view's filters, and those given beside it replace the view's. The enrichment filters "
    "(`sentiment`, `severity`, `category`, `subcategory`, `risk_flag`, `needs_review`, confidence bounds, "
    "`field=name:value`) look at the enrichment with `schema_id`, your default schema when it is not given. Members "
    "limited to business units see only their units' cases.",
)
async def list_cases(
    principal: Reader, session: SessionDep, query: Annotated[CaseQueryParams, Query()]
) -> Page[CaseRead]:
    found = await service.page_cases(session, principal=principal, query=query)
    now = datetime.now(UTC)
    return found.to_page(lambda view: _read(view, now))


@cases.post(
    "/bulk",
    response_model=BulkResult,
    responses=authenticated(Forbidden, CaseUnitInvalid, *_CHANGE_ERRORS),
    summary="Change the status, priority or assignee of many cases at once, all or nothing",
    description="Up to `FOLIO_CASES__MAX_BULK` cases (100 by default), each changed as `PATCH /cases/{ref}` would. "
    "Nothing is written unless every case can take the change: a case you do not see answers 404 "
    "`CASE_NOT_FOUND`, an illegal move 409 `CASE_TRANSITION_INVALID`, a move your role may not make 403; "
    "`details.id` names the case. Each case changed gets its own `case.updated` event.",
)
async def bulk_update(body: BulkUpdate, principal: Writer, session: SessionDep, settings: SettingsDep) -> BulkResult:
    outcome = await service.bulk_update(
        session,
        principal=principal,
        case_ids=body.ids,
        fields=body.changes.model_dump(include=body.changes.model_fields_set),
        limit=settings.cases.max_bulk,
    )
    return BulkResult(updated=outcome.updated, unchanged=outcome.unchanged)


@cases.post(
    "/enrich",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CasesEnrichAccepted,
    responses=authenticated(Forbidden, EnrichmentSchemaNotFound, TemplateNotFound, TemplateWrongKind),
    summary="Enrich every case the filters match, in one job",
    description="Cases that are searchable (`index_status: ready`) and match the filters, oldest first, at most "
    "`limit` of them: `count` says how many the job enriches.",
)
async def enrich_cases(
    body: CasesEnrich, principal: Writer, session: SessionDep, settings: SettingsDep
) -> CasesEnrichAccepted:
    job, count = await service.enrich_cases(
        session,
        principal=principal,
        query=body.filters,
        schema_id=body.schema_id,
        template_id=body.template_id,
        instructions=body.instructions,
        limit=body.limit,
        max_attempts=settings.jobs.max_attempts,
    )
    return CasesEnrichAccepted(job_id=job.id if job else None, count=count)


@cases.get(
    "/settings",
    response_model=CaseSettingsRead,
    responses=authenticated(Forbidden),
    summary="The organization's SLA hours by priority",
)
async def get_settings(principal: Reader, session: SessionDep) -> CaseSettingsRead:
    return _settings(await service.sla_overrides(session, principal=principal))


@cases.put(
    "/settings",
    response_model=CaseSettingsRead,
    responses=authenticated(Forbidden),
    summary="Set the organization's SLA hours by priority (admins)",
    description="A case is due its priority's hours after it was created. New hours apply to cases created, or "
    "whose priority changes, from now on: existing due times are not recomputed. Recorded in the audit log.",
)
async def put_settings(body: CaseSettingsUpdate, principal: Admin, session: SessionDep) -> CaseSettingsRead:
    return _settings(await service.set_sla_hours(session, principal=principal, hours=body.sla_hours))


@cases.get(
    "/{ref}",
    response_model=CaseRead,
    responses=authenticated(Forbidden, CaseNotFound),
    summary="Get a case by its id or number, with its enrichments",
)
async def get_case(case: ReadableCase, principal: Reader, session: SessionDep) -> CaseRead:
    return _read(await service.view_of(session, principal=principal, case=case), datetime.now(UTC))


@cases.patch(
    "/{ref}",
    response_model=CaseRead,
    responses=authenticated(Forbidden, CaseUnitInvalid, *_CHANGE_ERRORS),
    summary="Work a case: its status, priority, assignee and business unit",
    description=_WORKFLOW + " One `case.updated` event carries every change, from → to; a new assignee is "
    "notified (`case_assigned`).",
)
async def update_case(case_id: CaseId, body: CaseUpdate, principal: Writer, session: SessionDep) -> CaseRead:
    fields = body.model_dump(include=body.model_fields_set)
    view = await service.update_case(session, principal=principal, case_id=case_id, fields=fields)
    return _read(view, datetime.now(UTC))


@cases.get(
    "/{ref}/history",
    response_model=Page[HistoryEntry],
    responses=authenticated(Forbidden, CaseNotFound),
    summary="Every change and comment of a case, newest first",
    description="From the stored events (`case.updated`, `case.commented`), so as far back as "
    "`FOLIO_EVENTS__RETENTION_DAYS`: who, when, and each field from → to. A deleted comment shows without its "
    "text.",
)
async def case_history(case: ReadableCase, principal: Reader, session: SessionDep, page: PageDep) -> Page[HistoryEntry]:
    record, _ = case
    found = await service.history(session, principal=principal, case=record, page=page)
    return found.to_page(_entry)


def _read(view: service.CaseView, now: datetime) -> CaseRead:
    record, document = view.record, view.document
    return CaseRead(
        id=record.document_id,
        number=workflow.case_number(record.number),
        external_id=record.external_id,
        title=document.title,
        text=view.text,
        channel=record.channel,
        customer=record.customer,
        status=record.case_status,
        priority=record.priority,
        unit_id=record.unit_id,
        assigned_to=record.assigned_to,
        due_at=record.due_at,
        overdue=workflow.is_overdue(record.due_at, record.case_status, now),
        resolved_at=record.resolved_at,
        occurred_at=record.occurred_at,
        opened_at=record.opened_at,
        first_response_at=record.first_response_at,
        metadata=document.meta,
        batch_id=record.batch_id,
        index_status=document.status,
        enrichments=[EnrichmentRead.of(item, name) for item, name in view.enrichments],
        created_at=document.created_at,
        updated_at=max(record.updated_at, document.updated_at),
    )


def _entry(item: service.HistoryItem) -> HistoryEntry:
    event, data = item.event, item.event.data
    comment = None
    if "comment_id" in data:
        comment = HistoryComment(
            id=data["comment_id"],
            excerpt=data["excerpt"] if item.comment_exists else None,
            mentions=data.get("mentions", []),
            deleted=not item.comment_exists,
        )
    return HistoryEntry(
        id=event.id,
        type=event.type,
        actor=HistoryActor(type=event.actor_type, id=event.actor_id, name=service.actor_name(event, item.actor_name)),
        created_at=event.created_at,
        changes=[Change.model_validate(change) for change in data.get("changes", [])],
        comment=comment,
    )


def _settings(overrides: dict[str, int]) -> CaseSettingsRead:
    return CaseSettingsRead(
        sla_hours=workflow.sla_hours(overrides),
        overrides={CasePriority(name): hours for name, hours in overrides.items()},
        defaults=dict(workflow.DEFAULT_SLA_HOURS),
    )


# The saved views' and comments' paths come first: `/cases/views` is not a case's number.
router = Router()
router.include_router(views.router)
router.include_router(comments.router)
router.include_router(cases)
