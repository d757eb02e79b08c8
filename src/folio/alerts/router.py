from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, status

from folio.alerts import service
from folio.alerts.deps import AlertReader, ReadableAlert, ReadableRule, RuleManager
from folio.alerts.errors import (
    AlertNotFound,
    AlertRuleNotFound,
    AlertRuleRecipientNotMember,
    AlertRuleUnitsForbidden,
    AlertRuleUnknownUnit,
    AlertTransitionNotAllowed,
    TooManyAlertRules,
)
from folio.alerts.repository import AlertFilters
from folio.alerts.schemas import (
    AlertDetail,
    AlertMatchRead,
    AlertRead,
    AlertRuleCreate,
    AlertRuleRead,
    AlertRuleUpdate,
)
from folio.auth.deps import authenticated
from folio.cases.workflow import case_number
from folio.deps import API_V1, EmbedderDep, PageDep, SessionDep
from folio.errors import Forbidden
from folio.models import Alert, AlertMatch, AlertRule, AlertSeverity, AlertStatus
from folio.pagination import Page
from folio.routing import Router

router = Router(prefix=f"{API_V1}/alerts", tags=["alerts"])

_RULE_KINDS = (
    "Kinds (`definition.kind`): `search`, a saved search (query, filters, `min_score`) that fires when a new or "
    "changed document or case it matches becomes searchable (the query is embedded once, now); `condition`, a "
    "condition on a case's fields and labels (`severity` ≥ `high`, `risk_flag`, `sla_breached`…) checked when "
    "cases become searchable, are enriched, and (for `sla_breached`) every few minutes; `spike`, a one-sided "
    "Poisson test of the last window's count of a unit's cases (by category, or mentioning a term) against the "
    "windows before it, run every few minutes."
)


# Rules


@router.post(
    "/rules",
    status_code=status.HTTP_201_CREATED,
    response_model=AlertRuleRead,
    responses=authenticated(
        Forbidden, AlertRuleUnitsForbidden, AlertRuleUnknownUnit, AlertRuleRecipientNotMember, TooManyAlertRules
    ),
    summary="Create an alert rule (bu_managers and above; over your own units if you are limited to some)",
    description=_RULE_KINDS
    + f" An organization has at most {service.MAX_RULES_PER_ORG} rules; a condition at most 5 levels and 20 "
    "comparisons (an unknown field, operator or value answers 422 `VALIDATION_ERROR`).",
)
async def create_rule(
    body: AlertRuleCreate, principal: RuleManager, session: SessionDep, embedder: EmbedderDep
) -> AlertRule:
    return await service.create_rule(session, principal=principal, body=body, embedder=embedder.get())


@router.get(
    "/rules",
    response_model=Page[AlertRuleRead],
    responses=authenticated(Forbidden),
    summary="List alert rules, oldest first (a member limited to units: the rules over their units)",
)
async def list_rules(principal: AlertReader, session: SessionDep, page: PageDep) -> Page[AlertRuleRead]:
    rules = await service.page_rules(session, principal=principal, page=page)
    return rules.to_page(AlertRuleRead.model_validate)


@router.get(
    "/rules/{rule_id}",
    response_model=AlertRuleRead,
    responses=authenticated(Forbidden, AlertRuleNotFound),
    summary="An alert rule",
)
async def get_rule(rule: ReadableRule) -> AlertRule:
    return rule


@router.patch(
    "/rules/{rule_id}",
    response_model=AlertRuleRead,
    responses=authenticated(
        Forbidden, AlertRuleNotFound, AlertRuleUnitsForbidden, AlertRuleUnknownUnit, AlertRuleRecipientNotMember
    ),
    summary="Change an alert rule (only the fields sent; `definition` whole, re-embedding a search's query)",
    description="Changes apply to matches from now on; the rule's existing alerts keep their severity and title.",
)
async def update_rule(
    rule_id: UUID, body: AlertRuleUpdate, principal: RuleManager, session: SessionDep, embedder: EmbedderDep
) -> AlertRule:
    return await service.update_rule(session, principal=principal, rule_id=rule_id, body=body, embedder=embedder.get())


@router.delete(
    "/rules/{rule_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, AlertRuleNotFound),
    summary="Delete an alert rule and its alerts (disable it instead to keep them)",
)
async def delete_rule(rule_id: UUID, principal: RuleManager, session: SessionDep) -> None:
    await service.delete_rule(session, principal=principal, rule_id=rule_id)


# Alerts


@router.get(
    "",
    response_model=Page[AlertRead],
    responses=authenticated(Forbidden),
    summary="List alerts, newest first (a member limited to units: the alerts about their units' cases)",
)
async def list_alerts(
    principal: AlertReader,
    session: SessionDep,
    page: PageDep,
    alert_status: Annotated[AlertStatus | None, Query(alias="status", description="Only alerts in it.")] = None,
    severity: AlertSeverity | None = None,
    rule_id: UUID | None = None,
    unit_id: Annotated[UUID | None, Query(description="Only alerts about this business unit's cases.")] = None,
) -> Page[AlertRead]:
    filters = AlertFilters(status=alert_status, severity=severity, rule_id=rule_id, unit_id=unit_id)
    alerts = await service.page_alerts(session, principal=principal, filters=filters, page=page)
    return alerts.to_page(AlertRead.model_validate)


@router.get(
    "/{alert_id}",
    response_model=AlertDetail,
    responses=authenticated(Forbidden, AlertNotFound),
    summary="An alert with its matching cases and documents (paged with `limit` and `cursor`)",
)
async def get_alert(alert: ReadableAlert, principal: AlertReader, session: SessionDep, page: PageDep) -> AlertDetail:
    matches = await service.page_matches(session, principal=principal, alert=alert, page=page)
    return AlertDetail.model_validate(
        {**AlertRead.model_validate(alert).model_dump(), "matches": matches.to_page(_match)}
    )


@router.post(
    "/{alert_id}/acknowledge",
    response_model=AlertRead,
    responses=authenticated(Forbidden, AlertNotFound, AlertTransitionNotAllowed),
    summary="Acknowledge an open alert (supervisors and above who see its unit)",
)
async def acknowledge_alert(alert_id: UUID, principal: AlertReader, session: SessionDep) -> Alert:
    return await service.acknowledge(session, principal=principal, alert_id=alert_id)


@router.post(
    "/{alert_id}/resolve",
    response_model=AlertRead,
    responses=authenticated(Forbidden, AlertNotFound, AlertTransitionNotAllowed),
    summary="Resolve an open or acknowledged alert (supervisors and above who see its unit)",
)
async def resolve_alert(alert_id: UUID, principal: AlertReader, session: SessionDep) -> Alert:
    return await service.resolve(session, principal=principal, alert_id=alert_id)


def _match(row: tuple[AlertMatch, str, int | None]) -> AlertMatchRead:
    match, title, number = row
    return AlertMatchRead(
        document_id=match.document_id,
        title=title,
        is_case=number is not None,
        case_number=None if number is None else case_number(number),
        score=match.score,
        matched_at=match.matched_at,
    )
