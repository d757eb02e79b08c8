"""Load-or-404 for alerts and alert rules, and the principals the alert routes need."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from folio.alerts import service
from folio.auth.deps import requires
from folio.auth.principal import Principal, Scope
from folio.deps import SessionDep
from folio.models import Alert, AlertRule

AlertReader = Annotated[Principal, requires(Scope.ALERTS_READ)]
RuleManager = Annotated[Principal, requires(Scope.ALERTS_WRITE)]


async def readable_alert(alert_id: UUID, principal: AlertReader, session: SessionDep) -> Alert:
    return await service.get_alert(session, principal=principal, alert_id=alert_id)


async def readable_rule(rule_id: UUID, principal: AlertReader, session: SessionDep) -> AlertRule:
    return await service.get_rule(session, principal=principal, rule_id=rule_id)


ReadableAlert = Annotated[Alert, Depends(readable_alert)]
ReadableRule = Annotated[AlertRule, Depends(readable_rule)]
