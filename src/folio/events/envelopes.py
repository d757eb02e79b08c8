"""Each family of events as one typed envelope, and `Event`, their union discriminated by `type`: generated clients
get one class per family (the OpenAPI components `JobEvent`, `CaseEvent`…)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from folio.events.schemas import (
    Actor,
    AlertData,
    ApiKeyData,
    BatchData,
    CaseData,
    CommentData,
    DocumentData,
    EnrichmentData,
    ExportData,
    IntegrationData,
    JobData,
    MemberData,
    NotificationData,
    PulseData,
    Subject,
    SummaryData,
    Visibility,
    WebhookData,
)


class _Envelope(BaseModel):
    id: int | None = Field(description="Increases in commit order; null for live-only types (`job.progress`).")
    org_id: UUID
    subject: Subject
    actor: Actor
    visibility: Visibility
    unit_id: UUID | None = Field(description="The business unit of the case it concerns.")
    recipient_id: UUID | None = Field(description="The one member it is for (`visibility: recipient`).")
    created_at: datetime


class JobEvent(_Envelope):
    type: Literal["job.queued", "job.started", "job.progress", "job.succeeded", "job.failed", "job.cancelled"]
    data: JobData


class DocumentEvent(_Envelope):
    type: Literal["document.created", "document.ready", "document.failed", "document.deleted"]
    data: DocumentData


class SummaryEvent(_Envelope):
    type: Literal["summary.ready", "summary.failed"]
    data: SummaryData


class BatchEvent(_Envelope):
    type: Literal["batch.imported", "batch.finished", "batch.failed"]
    data: BatchData


class CaseEvent(_Envelope):
    type: Literal["case.updated"]
    data: CaseData


class CommentEvent(_Envelope):
    type: Literal["case.commented"]
    data: CommentData


class EnrichmentEvent(_Envelope):
    type: Literal["enrichment.finished"]
    data: EnrichmentData


class MemberEvent(_Envelope):
    type: Literal["member.added", "member.role_changed", "member.removed"]
    data: MemberData


class ApiKeyEvent(_Envelope):
    type: Literal["api_key.created", "api_key.revoked"]
    data: ApiKeyData


class WebhookEvent(_Envelope):
    type: Literal["webhook.disabled"]
    data: WebhookData


class AlertEvent(_Envelope):
    type: Literal["alert.raised", "alert.acknowledged", "alert.resolved"]
    data: AlertData


class NotificationEvent(_Envelope):
    type: Literal["notification.created"]
    data: NotificationData


class ExportEvent(_Envelope):
    type: Literal["export.created", "export.ready"]
    data: ExportData


class IntegrationEvent(_Envelope):
    type: Literal["integration.synced", "integration.needs_reauth"]
    data: IntegrationData


class PulseEvent(_Envelope):
    type: Literal["pulse.digest"]
    data: PulseData


Event = Annotated[
    JobEvent
    | DocumentEvent
    | SummaryEvent
    | BatchEvent
    | CaseEvent
    | CommentEvent
    | EnrichmentEvent
    | MemberEvent
    | ApiKeyEvent
    | WebhookEvent
    | AlertEvent
    | NotificationEvent
    | ExportEvent
    | PulseEvent
    | IntegrationEvent,
    Field(discriminator="type"),
]
