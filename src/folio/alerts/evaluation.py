"""Evaluating alert rules in bulk: when a step of documents and cases becomes searchable, when a step of cases is
enriched, when people change cases, and periodically for spikes and SLA breaches.

Each runs inside the caller's transaction, so a step's alerts commit with the step or not at all, and a retried step
adds nothing twice: an item is an alert's match once (`alert_matches` is keyed by alert and item), and an alert is
one per rule, unit, subject and throttle window (a unique key). A new alert emits `alert.raised` and notifies;
later matches in its window only add to its count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from folio.alerts.conditions import uses_labels
from folio.alerts.events import emit_alert
from folio.alerts.matching import ConditionRule, Hit, MatchingRepository, SpikeQuery
from folio.alerts.repository import AlertRepository
from folio.alerts.schemas import ConditionDefinition, SpikeDefinition, SpikeGroup
from folio.alerts.spikes import spike_test
from folio.db import new_id
from folio.events.schemas import EventType, Subject, SubjectType
from folio.inbox.service import Notice, NotificationKind, notify_each
from folio.models import Alert, AlertRule, AlertRuleKind, AlertStatus

log = structlog.get_logger(__name__)

# Members one alert notifies at most (its rule's chosen members are fewer).
MAX_RECIPIENTS = 200

# What one alert per window is about: its rule, its unit, and what a spike grouped by (else "").
AlertSubject = tuple[UUID, UUID | None, str]
D = TypeVar("D", ConditionDefinition, SpikeDefinition)


def clock() -> datetime:
    """The clock of evaluations given no `now`; tests hold it still so that their steps share one window."""
    return datetime.now(UTC)


async def evaluate_indexed(
    session: AsyncSession, *, org_id: UUID, document_ids: Sequence[UUID], now: datetime | None = None
) -> None:
    """Search and condition rules over a step of documents and cases that just became searchable."""
    if not document_ids:
        return
    now = now or clock()
    matching = MatchingRepository(session)
    rules = await matching.rules(org_id, (AlertRuleKind.SEARCH, AlertRuleKind.CONDITION))
    if not rules:
        return
    hits = await matching.search_hits(org_id, document_ids) if _any(rules, AlertRuleKind.SEARCH) else []
    conditions = _conditions(rules)
    hits += await matching.condition_hits(org_id, conditions, document_ids, now)
    await _raise(session, org_id, rules, hits, now)


async def evaluate_enriched(
    session: AsyncSession, *, org_id: UUID, document_ids: Sequence[UUID], now: datetime | None = None
) -> None:
    """Condition rules on labels over a step of cases whose enrichments were just written (the others were
    evaluated when the cases became searchable, and their fields did not change since)."""
    await _evaluate_conditions(session, org_id, document_ids, now, labels_only=True)


async def evaluate_changed(
    session: AsyncSession, *, org_id: UUID, document_ids: Sequence[UUID], now: datetime | None = None
) -> None:
    """Condition rules over cases people just changed (status, priority, assignee, unit), flushed: a case that now
    meets a rule's condition alerts as a case imported that way would (once per alert, as ever)."""
    await _evaluate_conditions(session, org_id, document_ids, now, labels_only=False)


async def _evaluate_conditions(
    session: AsyncSession, org_id: UUID, document_ids: Sequence[UUID], now: datetime | None, *, labels_only: bool
) -> None:
    if not document_ids:
        return
    now = now or clock()
    matching = MatchingRepository(session)
    rules = await matching.rules(org_id, (AlertRuleKind.CONDITION,))
    conditions = [rule for rule in _conditions(rules) if not labels_only or uses_labels(rule.condition)]
    if conditions:
        hits = await matching.condition_hits(org_id, conditions, document_ids, now)
        await _raise(session, org_id, rules, hits, now)


async def periodic_orgs(session: AsyncSession) -> list[UUID]:
    return await MatchingRepository(session).periodic_orgs()


async def evaluate_periodic(session: AsyncSession, *, org_id: UUID, now: datetime | None = None) -> None:
    """An organization's spike rules over the windows ending now, and its SLA conditions over the cases whose due
    time passed since they were last evaluated."""
    now = now or clock()
    matching = MatchingRepository(session)
    rules = [
        rule for rule in await matching.rules(org_id, (AlertRuleKind.CONDITION, AlertRuleKind.SPIKE)) if rule.periodic
    ]
    for rule in rules:
        if rule.kind is AlertRuleKind.SPIKE:
            spike = _parsed(rule, SpikeDefinition)
            if spike is not None:
                await _evaluate_spike(session, rule, spike, now)
            continue
        for condition in _conditions([rule]):
            hits = await matching.overdue_hits(org_id, condition, rule.checked_until, now)
            await _raise(session, org_id, [rule], hits, now)
        rule.checked_until = now


async def _evaluate_spike(session: AsyncSession, rule: AlertRule, spike: SpikeDefinition, now: datetime) -> None:
    matching = MatchingRepository(session)
    windows = spike.baseline_windows + 1
    query = SpikeQuery(
        unit_ids=rule.unit_ids,
        by_category=spike.group_by is SpikeGroup.CATEGORY,
        term=spike.term if spike.group_by is SpikeGroup.TERM else None,
        window=timedelta(minutes=spike.window_minutes),
        windows=windows,
    )
    series: defaultdict[tuple[UUID | None, str], list[int]] = defaultdict(lambda: [0] * windows)
    for counted in await matching.window_counts(rule.org_id, query, now):
        if 0 <= counted.ago < windows:
            series[(counted.unit_id, counted.key)][counted.ago] += counted.count
    hits: list[Hit] = []
    details: dict[AlertSubject, dict[str, Any]] = {}
    for (unit_id, key), counts in sorted(series.items(), key=lambda item: (str(item[0][0]), item[0][1])):
        test = spike_test(counts[0], counts[1:], alpha=spike.alpha, min_support=spike.min_support)
        if not test.spike:
            continue
        cases = await matching.window_cases(rule.org_id, query, unit_id, key, now)
        hits += [Hit(rule.id, case_id, unit_id, key=key) for case_id in cases]
        details[(rule.id, unit_id, key)] = {
            "count": test.count,
            "baseline_mean": round(test.baseline_mean, 4),
            "p_value": test.p_value,
            "window_minutes": spike.window_minutes,
            "baseline_windows": spike.baseline_windows,
        }
    await _raise(session, rule.org_id, [rule], hits, now, details)


def window_of(throttle_minutes: int, now: datetime) -> tuple[datetime, datetime]:
    """The throttle window holding `now`: windows start at multiples of their length since the Unix epoch."""
    seconds = throttle_minutes * 60
    start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, UTC)
    return start, start + timedelta(seconds=seconds)


async def _raise(
    session: AsyncSession,
    org_id: UUID,
    rules: Sequence[AlertRule],
    hits: Sequence[Hit],
    now: datetime,
    details: Mapping[AlertSubject, dict[str, Any]] | None = None,
) -> None:
    """Add the hits to the alerts of their rule, unit, subject and window (raised when new)."""
    if not hits:
        return
    by_id = {rule.id: rule for rule in rules}
    grouped: defaultdict[AlertSubject, list[Hit]] = defaultdict(list)
    for hit in hits:
        grouped[(hit.rule_id, hit.unit_id, hit.key)].append(hit)
    subjects = sorted(grouped, key=lambda subject: (subject[0], str(subject[1]), subject[2]))
    rows = []
    for rule_id, unit_id, key in subjects:
        rule = by_id[rule_id]
        start, end = window_of(rule.throttle_minutes, now)
        rows.append(
            {
                "id": new_id(),
                "org_id": org_id,
                "rule_id": rule_id,
                "unit_id": unit_id,
                "subject_key": key,
                "kind": rule.kind,
                "title": f"{rule.name}: {key}"[:300] if key else rule.name,
                "severity": rule.severity,
                "status": AlertStatus.OPEN,
                "count": 0,
                "details": (details or {}).get((rule_id, unit_id, key), {}),
                "window_start": start,
                "window_end": end,
                "last_matched_at": now,
            }
        )
    repository = AlertRepository(session)
    alerts = await repository.upsert(rows)
    matches = [
        (alert_id, hit.document_id, hit.score)
        for (alert_id, _), subject in zip(alerts, subjects, strict=True)
        for hit in grouped[subject]
    ]
    added = await repository.add_matches(org_id, matches, now)
    await repository.count_matches(added, now)
    raised = [alert_id for alert_id, created in alerts if created]
    if raised:
        await _announce(session, org_id, await repository.by_ids(raised), by_id)


async def _announce(
    session: AsyncSession, org_id: UUID, alerts: Sequence[Alert], rules: Mapping[UUID, AlertRule]
) -> None:
    """The events of new alerts, to the members who see their unit, and their notifications: one recipients query
    and one `notify_each` for all of them."""
    # Only members who see the unit's cases (for an alert of no unit: members limited to no unit) are chosen here,
    # so that an alert about documents or unit-less cases reaches no member limited to units.
    recipients = await AlertRepository(session).recipients(org_id, [alert.id for alert in alerts], MAX_RECIPIENTS)
    notices = []
    for alert in alerts:
        emit_alert(session, alert, EventType.ALERT_RAISED, rules[alert.rule_id].name)
        notices.append(
            Notice(
                recipients[alert.id],
                title=f"Alert: {alert.title}",
                body=f"{alert.count} matching {'item' if alert.count == 1 else 'items'} ({alert.severity.value} "
                f"severity) in the window from {alert.window_start:%Y-%m-%d %H:%M} UTC.",
                subject=Subject(type=SubjectType.ALERT, id=alert.id),
                unit_id=alert.unit_id,
            )
        )
    await notify_each(session, org_id=org_id, kind=NotificationKind.ALERT, notices=notices)


def _any(rules: Iterable[AlertRule], kind: AlertRuleKind) -> bool:
    return any(rule.kind is kind for rule in rules)


def _conditions(rules: Iterable[AlertRule]) -> list[ConditionRule]:
    conditions = []
    for rule in rules:
        if rule.kind is AlertRuleKind.CONDITION and (parsed := _parsed(rule, ConditionDefinition)) is not None:
            conditions.append(ConditionRule(rule.id, rule.updated_at, rule.unit_ids, parsed.condition))
    return conditions


def _parsed(rule: AlertRule, model: type[D]) -> D | None:
    """The rule's stored definition; one that no longer validates (the language changed since) is skipped, never
    failing the indexing step that evaluates it."""
    try:
        return model.model_validate(rule.definition)
    except ValidationError:
        log.warning("alert_rule_definition_invalid", rule_id=str(rule.id))
        return None
