"""Webhook endpoints and their deliveries, on behalf of an organization's admins.

A delivery is a row (what is sent, and what came back) and a `webhook.deliver` job that tries it on the
retry schedule. The job belongs to no organization: members who follow jobs never see it (the delivery log is
for admins), and delivering emits no job events that would themselves be delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx2
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from folio.audit.service import AuditAction, audit, url_origin
from folio.auth.principal import Principal
from folio.db import new_id
from folio.events.outbox import LiveEvent, actor_of
from folio.events.schemas import EventType, SubjectType
from folio.jobs import service as jobs
from folio.jobs.kinds import WEBHOOK_DELIVER
from folio.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from folio.outbound import OutboundURLForbidden
from folio.outbound.addresses import Internal
from folio.pagination import Paged, PageRequest
from folio.repository import lock_org
from folio.webhooks.config import WebhookConfig
from folio.webhooks.errors import (
    TooManyPendingDeliveries,
    TooManyWebhooks,
    UnknownEventType,
    WebhookDeliveryNotFound,
    WebhookDisabled,
    WebhookNotFound,
    WebhookURLInvalid,
)
from folio.webhooks.repository import DeliveryRepository, WebhookRepository
from folio.webhooks.signing import new_message_id, new_secret

PING = "webhook.ping"
# The event types an endpoint may ask for: the stored ones (a live-only `job.progress` has no id to deliver).
DELIVERABLE: tuple[str, ...] = tuple(type.value for type in EventType if type.durable)
# Pings and redeliveries of one endpoint on their way at once: an admin cannot fill the job queue with them.
MAX_MANUAL_PENDING = 10
# How long the previous secret keeps signing after a rotation.
SECRET_GRACE = timedelta(hours=24)


async def create_endpoint(
    session: AsyncSession,
    *,
    principal: Principal,
    config: WebhookConfig,
    url: str,
    event_types: Sequence[str],
    description: str,
) -> tuple[WebhookEndpoint, str]:
    """The endpoint and its signing secret; the secret is shown this once and stored encrypted."""
    url = checked_url(config, url)
    types = checked_event_types(event_types)
    repository = WebhookRepository(session)
    await lock_org(session, principal.org_id)
    limit = config.settings.max_per_org
    if await repository.count(principal) >= limit:
        raise TooManyWebhooks(details={"limit": limit})
    secret = new_secret()
    endpoint = WebhookEndpoint(
        org_id=principal.org_id,
        created_by=principal.member_id,
        url=url,
        event_types=types,
        description=description,
        secret_encrypted=config.cipher.encrypt(secret),
        events_after=await repository.last_event_id(),
    )
    await repository.add(endpoint)
    details = {"url": url_origin(url), "event_types": types, "description": description}
    await _audit(session, principal, endpoint, AuditAction.WEBHOOK_CREATED, details)
    return endpoint, secret


async def page_endpoints(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[WebhookEndpoint]:
    return await WebhookRepository(session).page(principal, page)


async def get_endpoint(
    session: AsyncSession, *, principal: Principal, endpoint_id: UUID, for_update: bool = False
) -> WebhookEndpoint:
    endpoint = await WebhookRepository(session).get(principal, endpoint_id, for_update=for_update)
    if endpoint is None:
        raise WebhookNotFound()
    return endpoint


async def update_endpoint(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    *,
    principal: Principal,
    config: WebhookConfig,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given (None leaves a field as it is). Enabling starts the failure count again."""
    if url is not None:
        endpoint.url = checked_url(config, url)
    if event_types is not None:
        endpoint.event_types = checked_event_types(event_types)
    if description is not None:
        endpoint.description = description
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        endpoint.consecutive_failures = 0
        endpoint.disabled_reason = None if enabled else "Disabled by an admin."
        if enabled:  # what happened while it was disabled is not sent now
            endpoint.events_after = await WebhookRepository(session).last_event_id()
    given = {"url": url_origin(url), "event_types": event_types, "description": description, "enabled": enabled}
    details = {name: value for name, value in given.items() if value is not None}
    await _audit(session, principal, endpoint, AuditAction.WEBHOOK_UPDATED, details)
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint, *, principal: Principal) -> None:
    """Its deliveries go with it; a delivery job still queued finds nothing to send."""
    await _audit(session, principal, endpoint, AuditAction.WEBHOOK_DELETED, {"url": url_origin(endpoint.url)})
    await WebhookRepository(session).delete(endpoint)


async def rotate_secret(
    session: AsyncSession, endpoint: WebhookEndpoint, *, principal: Principal, config: WebhookConfig
) -> str:
    """A new secret, shown this once; the current one keeps signing too for SECRET_GRACE."""
    secret = new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_expires_at = datetime.now(UTC) + SECRET_GRACE
    endpoint.secret_encrypted = config.cipher.encrypt(secret)
    details = {"previous_valid_until": endpoint.previous_secret_expires_at}
    await _audit(session, principal, endpoint, AuditAction.WEBHOOK_SECRET_ROTATED, details)
    await session.flush()
    return secret


async def ping(
    session: AsyncSession, endpoint: WebhookEndpoint, *, principal: Principal, config: WebhookConfig
) -> WebhookDelivery:
    """A `webhook.ping` delivery, tried once, also to a disabled endpoint (to check a receiver before enabling
    it); a ping changes nothing about the endpoint."""
    await _refuse_busy(session, endpoint)
    now = datetime.now(UTC)
    actor = actor_of(principal)
    data = {
        "id": None,
        "type": PING,
        "org_id": endpoint.org_id,
        "subject": {"type": SubjectType.WEBHOOK.value, "id": endpoint.id},
        "actor": {"type": actor.type, "id": actor.id},
        "data": {"url": endpoint.url},
        "created_at": now,
    }
    delivery = queue_delivery(
        session,
        endpoint,
        event_id=None,
        event_type=PING,
        body=_body(PING, now, data),
        message_id=new_message_id(),
        max_attempts=1,
        manual=True,
    )
    await session.flush()
    return delivery


async def page_deliveries(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    *,
    principal: Principal,
    page: PageRequest,
    status: DeliveryStatus | None,
) -> Paged[WebhookDelivery]:
    return await DeliveryRepository(session).page_newest_first(principal, endpoint.id, page, status)


async def get_delivery(
    session: AsyncSession, endpoint: WebhookEndpoint, *, principal: Principal, delivery_id: UUID
) -> tuple[WebhookDelivery, Sequence[WebhookAttempt]]:
    repository = DeliveryRepository(session)
    delivery = await repository.of_endpoint(principal, endpoint.id, delivery_id)
    if delivery is None:
        raise WebhookDeliveryNotFound()
    return delivery, await repository.attempts(delivery.id)


async def redeliver(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    *,
    principal: Principal,
    config: WebhookConfig,
    delivery_id: UUID,
) -> WebhookDelivery:
    """A new delivery of the same message (same body, same `webhook-id`, so a receiver can tell it has seen it),
    with a fresh set of attempts."""
    original = await DeliveryRepository(session).of_endpoint(principal, endpoint.id, delivery_id)
    if original is None:
        raise WebhookDeliveryNotFound()
    if not endpoint.enabled:
        raise WebhookDisabled()
    await _refuse_busy(session, endpoint)
    delivery = queue_delivery(
        session,
        endpoint,
        event_id=original.event_id,
        event_type=original.event_type,
        body=original.body,
        message_id=original.message_id,
        max_attempts=1 if original.event_type == PING else config.max_attempts,
        manual=True,
        redelivery_of=original.id,
    )
    await session.flush()
    return delivery


def queue_delivery(
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    *,
    event_id: int | None,
    event_type: str,
    body: str,
    message_id: str,
    max_attempts: int,
    manual: bool = False,
    redelivery_of: UUID | None = None,
) -> WebhookDelivery:
    """A delivery and the job that makes it (added to the session, flushed with the next statement), dispatched
    once the transaction commits."""
    delivery_id = new_id()
    job = jobs.enqueue_system(
        session,
        kind=WEBHOOK_DELIVER,
        subject_id=delivery_id,
        payload={"delivery_id": str(delivery_id)},
        max_attempts=max_attempts,
    )
    delivery = WebhookDelivery(
        id=delivery_id,
        org_id=endpoint.org_id,
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=event_type,
        message_id=message_id,
        body=body,
        manual=manual,
        redelivery_of=redelivery_of,
        job_id=job.id,
        status=DeliveryStatus.PENDING,
    )
    session.add(delivery)
    return delivery


def event_body(event: LiveEvent) -> str:
    """The body of an event's delivery: `{"type", "timestamp", "data"}`, `data` being the event as live streams
    send it."""
    return _body(event.type.value, event.created_at, event.body())


def wants(endpoint: WebhookEndpoint, event_id: int, event_type: str) -> bool:
    """Whether the event is the endpoint's: committed since it was created (or enabled), of a type it asked for."""
    if event_id <= endpoint.events_after:
        return False
    return not endpoint.event_types or event_type in endpoint.event_types


def checked_url(config: WebhookConfig, url: str) -> str:
    """The URL, if it is an absolute http(s) URL the outbound guard lets tenants reach (judged without resolving
    its host: every delivery resolves and checks it again)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a port out of range
    except ValueError as exc:
        raise _invalid_url("not a valid URL") from exc
    if parts.scheme not in {"http", "https"}:
        raise _invalid_url("only http and https URLs are allowed")
    if not parts.hostname:
        raise _invalid_url("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise _invalid_url("credentials in the URL are not allowed")
    if config.outbound.host_refusal(parts.hostname) is Internal.INVALID:
        raise _invalid_url("the host is not a valid host name")
    refusal = config.outbound.url_refusal(url)
    if refusal is not None:
        raise OutboundURLForbidden(
            f"url is not allowed: {refusal}. A server whose operator set FOLIO_OUTBOUND__ALLOW_PRIVATE may send "
            "webhooks on its own network.",
            details={"errors": [{"loc": ["body", "url"], "message": refusal, "type": "outbound_forbidden"}]},
        )
    try:
        httpx2.URL(url)  # what the client will send: stricter than urlsplit (spaces, odd hosts)
    except httpx2.InvalidURL as exc:
        raise _invalid_url("not a valid URL") from exc
    return url


def checked_event_types(event_types: Sequence[str]) -> list[str]:
    """The types without repeats, in the order given; an unknown or live-only type is refused."""
    unknown = [type for type in event_types if type not in DELIVERABLE]
    if unknown:
        raise UnknownEventType(
            f"Webhooks do not deliver {', '.join(repr(type) for type in unknown)}.",
            details={"unknown": unknown, "allowed": list(DELIVERABLE)},
        )
    return list(dict.fromkeys(event_types))


async def _refuse_busy(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    if await DeliveryRepository(session).count_manual_pending(endpoint.id) >= MAX_MANUAL_PENDING:
        raise TooManyPendingDeliveries(details={"limit": MAX_MANUAL_PENDING})


async def _audit(
    session: AsyncSession, principal: Principal, endpoint: WebhookEndpoint, action: AuditAction, details: dict[str, Any]
) -> None:
    await audit(
        session,
        org_id=endpoint.org_id,
        action=action,
        actor=principal,
        target_type="webhook",
        target_id=endpoint.id,
        details=details,
    )


def _body(type: str, at: datetime, data: dict[str, Any]) -> str:
    # `default=str`: ids read from the database are asyncpg's UUID type, which orjson does not know.
    return orjson.dumps({"type": type, "timestamp": at, "data": data}, default=str).decode()


def _invalid_url(reason: str) -> WebhookURLInvalid:
    return WebhookURLInvalid(
        f"url is not allowed: {reason}.",
        details={"errors": [{"loc": ["body", "url"], "message": reason, "type": "webhook_url"}]},
    )
