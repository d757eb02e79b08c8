"""Alert rules (managed by bu_managers and above, a member limited to units over their units only) and alerts
(read by members who see their unit; acknowledged and resolved by supervisors and above)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.alerts.conditions import uses_sla
from folio.alerts.errors import (
    AlertNotFound,
    AlertRuleNotFound,
    AlertRuleRecipientNotMember,
    AlertRuleUnitsForbidden,
    AlertRuleUnknownUnit,
    AlertTransitionNotAllowed,
    TooManyAlertRules,
)
from folio.alerts.events import emit_alert
from folio.alerts.repository import AlertFilters, AlertRepository, AlertRuleRepository
from folio.alerts.schemas import (
    AlertRuleCreate,
    AlertRuleUpdate,
    ConditionDefinition,
    Definition,
    SearchDefinition,
    SpikeDefinition,
)
from folio.auth.principal import Principal
from folio.db import release
from folio.embeddings.provider import EmbeddingProvider
from folio.errors import Forbidden
from folio.events.outbox import actor_of
from folio.events.schemas import EventType
from folio.models import Alert, AlertMatch, AlertRule, AlertRuleKind, AlertStatus, Role
from folio.pagination import Paged, PageRequest

MAX_RULES_PER_ORG = 100


async def create_rule(
    session: AsyncSession, *, principal: Principal, body: AlertRuleCreate, embedder: EmbeddingProvider
) -> AlertRule:
    await _check_units(session, principal, body.unit_ids)
    await _check_notify(session, principal, body.notify)
    embedding = await _embedded(session, embedder, body.definition)
    repository = AlertRuleRepository(session)
    await repository.lock_org(principal.org_id)
    if await repository.count(principal.org_id) >= MAX_RULES_PER_ORG:
        raise TooManyAlertRules(details={"limit": MAX_RULES_PER_ORG})
    rule = AlertRule(
        org_id=principal.org_id,
        created_by=principal.member_id,
        name=body.name,
        description=body.description,
        severity=body.severity,
        throttle_minutes=body.throttle_minutes,
        enabled=body.enabled,
        unit_ids=body.unit_ids,
        notify=body.notify,
    )
    _define(rule, body.definition, embedding)
    await repository.add(rule)
    return rule


async def update_rule(
    session: AsyncSession,
    *,
    principal: Principal,
    rule_id: UUID,
    body: AlertRuleUpdate,
    embedder: EmbeddingProvider,
) -> AlertRule:
    rule = await get_rule(session, principal=principal, rule_id=rule_id)
    changed = body.model_fields_set
    if "unit_ids" in changed:
        await _check_units(session, principal, body.unit_ids)
    if body.notify is not None:
        await _check_notify(session, principal, body.notify)
    embedding = None if body.definition is None else await _embedded(session, embedder, body.definition)
    # Read again, locked, after the embedding's wait: another request may have changed or deleted it meanwhile.
    rule = await _rule(session, principal, rule_id, for_update=True)
    for field in ("name", "description", "severity", "throttle_minutes", "enabled", "unit_ids", "notify"):
        if field in changed:
            setattr(rule, field, getattr(body, field))
    if body.definition is not None:
        _define(rule, body.definition, embedding)
        rule.checked_until = None
    await session.flush()
    return rule


async def delete_rule(session: AsyncSession, *, principal: Principal, rule_id: UUID) -> None:
    """Its alerts go with it; disable a rule to keep them."""
    repository = AlertRuleRepository(session)
    await repository.delete(await _rule(session, principal, rule_id, for_update=True))


async def get_rule(session: AsyncSession, *, principal: Principal, rule_id: UUID) -> AlertRule:
    return await _rule(session, principal, rule_id)


async def page_rules(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[AlertRule]:
    return await AlertRuleRepository(session).page(principal, page)


async def _rule(session: AsyncSession, principal: Principal, rule_id: UUID, *, for_update: bool = False) -> AlertRule:
    rule = await AlertRuleRepository(session).get(principal, rule_id, for_update=for_update)
    if rule is None:
        raise AlertRuleNotFound()
    return rule


async def _check_units(session: AsyncSession, principal: Principal, unit_ids: Sequence[UUID] | None) -> None:
    """A member limited to units names some of theirs; every unit named is one of the organization's."""
    if principal.units is not None and (unit_ids is None or not set(unit_ids) <= principal.units):
        raise AlertRuleUnitsForbidden()
    if unit_ids:
        unknown = set(unit_ids) - await AlertRuleRepository(session).units(principal.org_id, unit_ids)
        if unknown:
            raise AlertRuleUnknownUnit(details={"unit_ids": sorted(str(unit_id) for unit_id in unknown)})


async def _check_notify(session: AsyncSession, principal: Principal, notify: Sequence[UUID]) -> None:
    if notify:
        strangers = set(notify) - await AlertRuleRepository(session).members(principal.org_id, notify)
        if strangers:
            raise AlertRuleRecipientNotMember(details={"notify": sorted(str(user_id) for user_id in strangers)})


async def _embedded(session: AsyncSession, embedder: EmbeddingProvider, definition: Definition) -> list[float] | None:
    """A search rule's query embedded now, once, so that evaluation never calls the model; with no connection held
    (what was read so far is committed first)."""
    if not isinstance(definition, SearchDefinition):
        return None
    await release(session)
    vectors = await embedder.embed([definition.query])
    return [float(value) for value in vectors[0]]


def _define(rule: AlertRule, definition: Definition, embedding: list[float] | None) -> None:
    rule.kind = AlertRuleKind(definition.kind)
    rule.definition = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    rule.query_embedding = embedding
    rule.periodic = isinstance(definition, SpikeDefinition) or (
        isinstance(definition, ConditionDefinition) and uses_sla(definition.condition)
    )


# Alerts


async def page_alerts(
    session: AsyncSession, *, principal: Principal, filters: AlertFilters, page: PageRequest
) -> Paged[Alert]:
    return await AlertRepository(session).newest_first(principal, filters, page)


async def get_alert(session: AsyncSession, *, principal: Principal, alert_id: UUID, for_update: bool = False) -> Alert:
    alert = await AlertRepository(session).get(principal, alert_id, for_update=for_update)
    if alert is None:
        raise AlertNotFound()
    return alert


async def page_matches(
    session: AsyncSession, *, principal: Principal, alert: Alert, page: PageRequest
) -> Paged[tuple[AlertMatch, str, int | None]]:
    return await AlertRepository(session).matches(principal, alert.id, page)


async def acknowledge(session: AsyncSession, *, principal: Principal, alert_id: UUID) -> Alert:
    alert = await _for_transition(session, principal, alert_id, allowed_from=(AlertStatus.OPEN,))
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at, alert.acknowledged_by = datetime.now(UTC), principal.member_id
    await _changed(session, principal, alert, EventType.ALERT_ACKNOWLEDGED)
    return alert


async def resolve(session: AsyncSession, *, principal: Principal, alert_id: UUID) -> Alert:
    alert = await _for_transition(
        session, principal, alert_id, allowed_from=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
    )
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at, alert.resolved_by = datetime.now(UTC), principal.member_id
    await _changed(session, principal, alert, EventType.ALERT_RESOLVED)
    return alert


async def _for_transition(
    session: AsyncSession, principal: Principal, alert_id: UUID, *, allowed_from: Sequence[AlertStatus]
) -> Alert:
    """The alert, locked, when the principal (a supervisor or above who sees it) may move it from its status."""
    alert = await get_alert(session, principal=principal, alert_id=alert_id, for_update=True)
    if not principal.at_least(Role.SUPERVISOR):
        raise Forbidden("Supervisors and above acknowledge and resolve alerts.")
    if alert.status not in allowed_from:
        raise AlertTransitionNotAllowed(details={"status": alert.status.value})
    return alert


async def _changed(session: AsyncSession, principal: Principal, alert: Alert, type: EventType) -> None:
    await session.flush()
    rule_name = await AlertRuleRepository(session).name_of(alert.org_id, alert.rule_id)
    emit_alert(session, alert, type, rule_name or alert.title, actor_of(principal))
