from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Body, Query, status
from fastapi.openapi.models import Example

from folio.auth.deps import authenticated
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from folio.outbound import OutboundURLForbidden
from folio.pagination import Page
from folio.routing import Router
from folio.webhooks import service
from folio.webhooks.deps import Admin, AdminWebhook, ConfigDep, LockedWebhook
from folio.webhooks.errors import (
    TooManyPendingDeliveries,
    TooManyWebhooks,
    UnknownEventType,
    WebhookDeliveryNotFound,
    WebhookDisabled,
    WebhookNotFound,
    WebhookURLInvalid,
)
from folio.webhooks.schemas import (
    DeliveryDetail,
    DeliveryRead,
    WebhookCreate,
    WebhookCreated,
    WebhookRead,
    WebhookSecret,
    WebhookUpdate,
)

router = Router(prefix=f"{API_V1}/webhooks", tags=["webhooks"])

_SIGNING = (
    'Every delivery is a POST of `{"type", "timestamp", "data"}` (`data`: the event, as live streams send it) '
    "signed by the Standard Webhooks specification: headers `webhook-id` (the same for every attempt of a message), "
    "`webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256>`), verifiable with any Standard Webhooks "
    "library and the endpoint's secret."
)
_URL_RULES = (
    "The URL must be http(s) with a public host: loopback, private, link-local and metadata addresses, in any "
    "notation, and names such as `localhost` are refused with 422 `OUTBOUND_URL_FORBIDDEN` unless the server's "
    "operator allows private addresses (FOLIO_OUTBOUND__ALLOW_PRIVATE); each delivery checks the address the name "
    "resolves to again, and never follows a redirect."
)
_EXAMPLES: dict[str, Example] = {
    "documents": {
        "summary": "When documents are ready or failed",
        "value": {
            "url": "https://hooks.example.com/folio",
            "event_types": ["document.ready", "document.failed"],
            "description": "Tell the CRM",
        },
    },
    "everything": {"summary": "Every event", "value": {"url": "https://hooks.example.com/folio/all"}},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=authenticated(Forbidden, TooManyWebhooks, WebhookURLInvalid, OutboundURLForbidden, UnknownEventType),
    summary="Register a webhook endpoint (owners and admins; the secret is returned only here)",
    description=(
        "Events of the organization of the types asked for (empty: all) are POSTed to `url` as they are committed, "
        f"retried on the server's schedule until the receiver answers 2xx. {_SIGNING} Delivery is at least once and "
        "not in order: drop repeats by `webhook-id`, order by the event's `id`. The endpoint receives the events "
        f"committed after it was made. {_URL_RULES} An endpoint whose deliveries keep failing is disabled "
        "(`webhook.disabled` is emitted, to admins' live streams and other endpoints)."
    ),
)
async def create_webhook(
    body: Annotated[WebhookCreate, Body(openapi_examples=_EXAMPLES)],
    principal: Admin,
    session: SessionDep,
    config: ConfigDep,
) -> WebhookCreated:
    endpoint, secret = await service.create_endpoint(
        session,
        principal=principal,
        config=config,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
    )
    return WebhookCreated.model_validate({**WebhookRead.model_validate(endpoint).model_dump(), "secret": secret})


@router.get(
    "",
    response_model=Page[WebhookRead],
    responses=authenticated(Forbidden),
    summary="List the organization's webhook endpoints (owners and admins)",
)
async def list_webhooks(principal: Admin, session: SessionDep, page: PageDep) -> Page[WebhookRead]:
    endpoints = await service.page_endpoints(session, principal=principal, page=page)
    return endpoints.to_page(WebhookRead.model_validate)


@router.get(
    "/{webhook_id}",
    response_model=WebhookRead,
    responses=authenticated(Forbidden, WebhookNotFound),
    summary="Get a webhook endpoint (owners and admins)",
)
async def get_webhook(endpoint: AdminWebhook) -> WebhookEndpoint:
    return endpoint


@router.patch(
    "/{webhook_id}",
    response_model=WebhookRead,
    responses=authenticated(Forbidden, WebhookNotFound, WebhookURLInvalid, OutboundURLForbidden, UnknownEventType),
    summary="Change a webhook endpoint's URL, event types, description, or enable or disable it",
    description=(
        "Only the fields given change; deliveries still on their way go to the new URL. Enabling an endpoint clears "
        "its failure count, and it receives the events committed from then on (not those of while it was "
        f"disabled). {_URL_RULES}"
    ),
)
async def update_webhook(
    body: WebhookUpdate, endpoint: LockedWebhook, principal: Admin, session: SessionDep, config: ConfigDep
) -> WebhookEndpoint:
    return await service.update_endpoint(
        session,
        endpoint,
        principal=principal,
        config=config,
        url=body.url,
        event_types=body.event_types,
        description=body.description,
        enabled=body.enabled,
    )


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, WebhookNotFound),
    summary="Delete a webhook endpoint and its delivery log",
)
async def delete_webhook(endpoint: LockedWebhook, principal: Admin, session: SessionDep) -> None:
    await service.delete_endpoint(session, endpoint, principal=principal)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookSecret,
    responses=authenticated(Forbidden, WebhookNotFound),
    summary="Replace the signing secret (the new one is returned only here)",
    description=(
        "Deliveries are signed with the new secret from now on, and for 24 hours also with the previous one "
        "(`webhook-signature` then carries two `v1,` signatures), so a receiver can switch without missing any."
    ),
)
async def rotate_secret(
    endpoint: LockedWebhook, principal: Admin, session: SessionDep, config: ConfigDep
) -> WebhookSecret:
    return WebhookSecret(secret=await service.rotate_secret(session, endpoint, principal=principal, config=config))


@router.post(
    "/{webhook_id}/ping",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
    responses=authenticated(Forbidden, WebhookNotFound, TooManyPendingDeliveries),
    summary="Send a test delivery (`webhook.ping`)",
    description=(
        "A signed `webhook.ping` delivery, tried once, also to a disabled endpoint (to check a receiver before "
        "enabling it); its outcome appears in the delivery log and does not count as a failure. At most 10 pings "
        "and redeliveries of an endpoint are on their way at once."
    ),
)
async def ping_webhook(
    endpoint: AdminWebhook, principal: Admin, session: SessionDep, config: ConfigDep
) -> WebhookDelivery:
    return await service.ping(session, endpoint, principal=principal, config=config)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=Page[DeliveryRead],
    responses=authenticated(Forbidden, WebhookNotFound),
    summary="The endpoint's delivery log, newest first",
    description=(
        "Each delivery with its latest attempt: status code, latency, and the first KiB of what the receiver "
        "answered. Deliveries older than the event retention (FOLIO_EVENTS__RETENTION_DAYS) are deleted."
    ),
)
async def list_deliveries(
    endpoint: AdminWebhook,
    principal: Admin,
    session: SessionDep,
    page: PageDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only deliveries in this status.")] = None,
) -> Page[DeliveryRead]:
    deliveries = await service.page_deliveries(session, endpoint, principal=principal, page=page, status=status)
    return deliveries.to_page(DeliveryRead.model_validate)


@router.get(
    "/{webhook_id}/deliveries/{delivery_id}",
    response_model=DeliveryDetail,
    responses=authenticated(Forbidden, WebhookNotFound, WebhookDeliveryNotFound),
    summary="A delivery with every attempt",
)
async def get_delivery(
    delivery_id: UUID, endpoint: AdminWebhook, principal: Admin, session: SessionDep
) -> DeliveryDetail:
    delivery, attempts = await service.get_delivery(session, endpoint, principal=principal, delivery_id=delivery_id)
    return DeliveryDetail.model_validate(
        {**DeliveryRead.model_validate(delivery).model_dump(), "attempt_log": attempts}
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryRead,
    responses=authenticated(
        Forbidden, WebhookNotFound, WebhookDeliveryNotFound, WebhookDisabled, TooManyPendingDeliveries
    ),
    summary="Send a delivery again",
    description=(
        "A new delivery of the same message (same body and `webhook-id`, so the receiver can recognise it) with a "
        "fresh set of attempts; the original stays in the log. The endpoint must be enabled."
    ),
)
async def redeliver(
    delivery_id: UUID, endpoint: AdminWebhook, principal: Admin, session: SessionDep, config: ConfigDep
) -> WebhookDelivery:
    return await service.redeliver(session, endpoint, principal=principal, config=config, delivery_id=delivery_id)
