"""Who may manage webhooks (owners, admins and `admin` keys), the endpoint of the path loaded once, and the
deployment's webhook settings."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from folio.auth.deps import requires
from folio.auth.principal import Principal, Scope
from folio.deps import SessionDep, SettingsDep
from folio.models import WebhookEndpoint
from folio.webhooks import service
from folio.webhooks.config import WebhookConfig

Admin = Annotated[Principal, requires(Scope.ADMIN)]


def webhook_config(settings: SettingsDep) -> WebhookConfig:
    return WebhookConfig.from_settings(settings)


ConfigDep = Annotated[WebhookConfig, Depends(webhook_config)]


async def admin_webhook(webhook_id: UUID, principal: Admin, session: SessionDep) -> WebhookEndpoint:
    """The organization's endpoint; 404 for another organization's id, as for one that does not exist."""
    return await service.get_endpoint(session, principal=principal, endpoint_id=webhook_id)


async def locked_webhook(webhook_id: UUID, principal: Admin, session: SessionDep) -> WebhookEndpoint:
    """The endpoint, locked until the request commits: for changes, which the delivery job's counting must not
    undo."""
    return await service.get_endpoint(session, principal=principal, endpoint_id=webhook_id, for_update=True)


AdminWebhook = Annotated[WebhookEndpoint, Depends(admin_webhook)]
LockedWebhook = Annotated[WebhookEndpoint, Depends(locked_webhook)]
