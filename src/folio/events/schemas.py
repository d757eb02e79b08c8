"""The events clients receive: every type, what its `data` holds, and which are stored.

One envelope for all: `{"id", "type", "org_id", "subject": {"type", "id"}, "actor": {"type", "id"}, "data",
"created_at"}`. `Event` is a union discriminated by `type`, so generated clients get one class per family.
Every type is stored in the outbox (and so can be replayed with `since` / `Last-Event-ID` and sent to webhooks)
except `job.progress`, which is live only: its `id` is null, and the job row keeps the latest progress.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from folio.auth.principal import Scope
from folio.models import DocumentStatus, JobStatus, Role


class EventType(StrEnum):
    JOB_QUEUED = "job.queued"
    JOB_STARTED = "job.started"
    JOB_PROGRESS = "job.progress"
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"
    DOCUMENT_CREATED = "document.created"
    DOCUMENT_READY = "document.ready"
    DOCUMENT_FAILED = "document.failed"
    DOCUMENT_DELETED = "document.deleted"
    SUMMARY_READY = "summary.ready"
    SUMMARY_FAILED = "summary.failed"
    BATCH_IMPORTED = "batch.imported"
    BATCH_FINISHED = "batch.finished"
    BATCH_FAILED = "batch.failed"
    RECORD_UPDATED = "record.updated"
    ENRICHMENT_FINISHED = "enrichment.finished"
    MEMBER_ADDED = "member.added"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    WEBHOOK_DISABLED = "webhook.disabled"

    @property
    def durable(self) -> bool:
        """Stored in the outbox; the rest are published live only."""
        return self is not EventType.JOB_PROGRESS

    @property
    def scope(self) -> Scope:
        """What a principal needs to receive it: administration events go to admins only."""
        family = self.value.split(".", 1)[0]
        return Scope.ADMIN if family in {"member", "api_key", "webhook"} else Scope.DOCUMENTS_READ


class SubjectType(StrEnum):
    JOB = "job"
    DOCUMENT = "document"
    SUMMARY = "summary"
    BATCH = "batch"
    RECORD = "record"
    MEMBER = "member"
    API_KEY = "api_key"
    WEBHOOK = "webhook"


class Subject(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: SubjectType
    id: UUID | None


class Actor(BaseModel):
    """Who caused the event: a user, an API key, or the system (a job, a schedule)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["user", "api_key", "system"]
    id: UUID | None = None


SYSTEM = Actor(type="system")


class Data(BaseModel):
    model_config = ConfigDict(frozen=True)


class JobData(Data):
    kind: str
    status: JobStatus
    progress: int = Field(description="0–100.")
    stage: str | None = None
    message: str | None = None
    subject_id: UUID | None = Field(None, description="What the job works on, such as a document.")
    attempt: int = 0
    error_code: str | None = None
    error_message: str | None = None


class DocumentData(Data):
    title: str
    filename: str
    status: DocumentStatus
    version: int = 0
    error_code: str | None = None
    error_message: str | None = None


class SummaryData(Data):
    document_id: UUID
    error_code: str | None = None
    error_message: str | None = None


class BatchData(Data):
    filename: str
    status: str
    records_created: int = 0
    records_updated: int = 0
    rows_failed: int = 0
    error_code: str | None = None
    error_message: str | None = None


class RecordData(Data):
    fields: list[str] = Field(description="The fields that changed.")
    case_status: str
    assigned_to: UUID | None = None


class EnrichmentData(Data):
    """Of an on-demand enrichment job (its subject); a batch's enrichment is counted in `batch.finished`."""

    enriched: int = Field(description="Enrichments written, whatever their outcome.")
    needing_review: int = Field(description="Of those, how many a person should look at.")


class MemberData(Data):
    user_id: UUID
    email: str
    role: Role | None = Field(None, description="The new role; null once removed.")


class ApiKeyData(Data):
    name: str
    prefix: str


class WebhookData(Data):
    url: str
    reason: str


DATA_OF: dict[EventType, type[Data]] = {
    **dict.fromkeys(
        (
            EventType.JOB_QUEUED,
            EventType.JOB_STARTED,
            EventType.JOB_PROGRESS,
            EventType.JOB_SUCCEEDED,
            EventType.JOB_FAILED,
            EventType.JOB_CANCELLED,
        ),
        JobData,
    ),
    **dict.fromkeys(
        (
            EventType.DOCUMENT_CREATED,
            EventType.DOCUMENT_READY,
            EventType.DOCUMENT_FAILED,
            EventType.DOCUMENT_DELETED,
        ),
        DocumentData,
    ),
    EventType.SUMMARY_READY: SummaryData,
    EventType.SUMMARY_FAILED: SummaryData,
    EventType.BATCH_IMPORTED: BatchData,
    EventType.BATCH_FINISHED: BatchData,
    EventType.BATCH_FAILED: BatchData,
    EventType.RECORD_UPDATED: RecordData,
    EventType.ENRICHMENT_FINISHED: EnrichmentData,
    EventType.MEMBER_ADDED: MemberData,
    EventType.MEMBER_ROLE_CHANGED: MemberData,
    EventType.MEMBER_REMOVED: MemberData,
    EventType.API_KEY_CREATED: ApiKeyData,
    EventType.API_KEY_REVOKED: ApiKeyData,
    EventType.WEBHOOK_DISABLED: WebhookData,
}


class _Envelope(BaseModel):
    id: int | None = Field(description="Increases in commit order; null for live-only types (`job.progress`).")
    org_id: UUID
    subject: Subject
    actor: Actor
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


class RecordEvent(_Envelope):
    type: Literal["record.updated"]
    data: RecordData


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


Event = Annotated[
    JobEvent
    | DocumentEvent
    | SummaryEvent
    | BatchEvent
    | RecordEvent
    | EnrichmentEvent
    | MemberEvent
    | ApiKeyEvent
    | WebhookEvent,
    Field(discriminator="type"),
]
