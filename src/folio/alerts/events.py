"""An alert's life as events (`alert.raised`, `alert.acknowledged`, `alert.resolved`), emitted with the change to
the members who see its unit's cases (live streams) and to the organization's webhooks."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from folio.events.outbox import Audience, emit
from folio.events.schemas import SYSTEM, Actor, AlertData, EventType, SubjectType
from folio.models import Alert


def emit_alert(session: AsyncSession, alert: Alert, type: EventType, rule_name: str, actor: Actor = SYSTEM) -> None:
    data = AlertData(
        rule_id=alert.rule_id,
        rule_name=rule_name,
        severity=alert.severity.value,
        status=alert.status.value,
        title=alert.title,
        count=alert.count,
    )
    emit(
        session,
        org_id=alert.org_id,
        type=type,
        subject_id=alert.id,
        subject_type=SubjectType.ALERT,
        data=data,
        actor=actor,
        audience=Audience.unit(alert.unit_id),
    )
