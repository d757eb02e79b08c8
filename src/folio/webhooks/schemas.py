from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AliasChoices, Field

from folio.models import DeliveryError, DeliveryStatus
from folio.schemas import ReadModel, RequestModel
from folio.webhooks.service import DELIVERABLE

MAX_URL_LENGTH = 2000

EventTypeName = Annotated[str, Field(max_length=64, json_schema_extra={"enum": list(DELIVERABLE)})]
EventTypes = Annotated[
    list[EventTypeName],
    Field(
        max_length=len(DELIVERABLE),
        description="The event types to deliver; empty: every type. `job.progress` is live only and cannot be "
        "delivered.",
        examples=[["document.ready", "document.failed"]],
    ),
]
Url = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="Where deliveries are POSTed: an http(s) URL whose host is public (unless the server's operator "
        "allows private addresses).",
        examples=["https://hooks.example.com/folio"],
    ),
]
Description = Annotated[str, Field(max_length=500, examples=["Tell the CRM when documents are ready"])]


class WebhookCreate(RequestModel):
    url: Url
    event_types: EventTypes = []
    description: Description = ""


class WebhookUpdate(RequestModel):
    """Only the fields given change."""

    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    enabled: bool | None = Field(
        None, description="false stops deliveries; true starts them again and clears the failure count."
    )


class WebhookRead(ReadModel):
    id: UUID
    url: str
    event_types: list[str] = Field(description="Empty: every type.")
    description: str
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why the endpoint is disabled: by an admin, or after too many failed deliveries in a row."
    )
    consecutive_failures: int = Field(description="Deliveries that failed for good since the last that succeeded.")
    previous_secret_expires_at: datetime | None = Field(
        description="After a rotation, until when the previous secret signs too (a second `v1,` signature)."
    )
    created_at: datetime
    updated_at: datetime


class WebhookSecret(ReadModel):
    secret: str = Field(
        description="The signing secret (`whsec_` + base64), shown only now: verify deliveries with it (any Standard "
        "Webhooks library does).",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookCreated(WebhookRead, WebhookSecret):
    pass


class DeliveryRead(ReadModel):
    id: UUID
    webhook_id: UUID = Field(validation_alias=AliasChoices("endpoint_id", "webhook_id"))
    event_id: int | None = Field(description="The event's id; null for a ping.")
    event_type: str = Field(examples=["document.ready"])
    message_id: str = Field(description="The `webhook-id` header: the same for every attempt and redelivery.")
    status: DeliveryStatus
    attempts: int = Field(description="Attempts made so far.")
    response_status: int | None = Field(description="The HTTP status of the latest attempt's answer.")
    latency_ms: int | None = Field(description="How long the latest attempt took.")
    response_excerpt: str | None = Field(
        description="The first KiB of the latest answer's body, as the receiver sent it."
    )
    error: DeliveryError | None = Field(
        description="Why the latest attempt failed: `http_status` (not 2xx), `redirect` (3xx, never followed), "
        "`timeout`, `connect_failed`, `address_refused` (the host resolves to an internal address), "
        "`response_refused`; or why it was not made: `disabled`, `cancelled`, `worker_lost`, `unsignable`."
    )
    redelivery_of: UUID | None = Field(description="The delivery this one sends again.")
    created_at: datetime
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When the next retry is due, while the delivery is pending.")


class AttemptRead(ReadModel):
    attempt: int
    succeeded: bool
    response_status: int | None
    latency_ms: int | None
    response_excerpt: str | None
    error: DeliveryError | None
    attempted_at: datetime


class DeliveryDetail(DeliveryRead):
    attempt_log: list[AttemptRead] = Field(description="Every attempt, oldest first.")
