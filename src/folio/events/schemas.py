"""The events clients receive: every type, what its `data` holds, and which are stored.

One envelope for all: `{"id", "type", "org_id", "subject": {"type", "id"}, "actor": {"type", "id"}, "data",
"created_at"}`, typed per family in `folio.events.envelopes`.
Every type is stored in the outbox (and so can be replayed with `since` / `Last-Event-ID` and sent to webhooks)
except `job.progress`, which is live only: its `id` is null, and the job row keeps the latest progress.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
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
    CASE_UPDATED = "case.updated"
    CASE_COMMENTED = "case.commented"
    ENRICHMENT_FINISHED = "enrichment.finished"
    MEMBER_ADDED = "member.added"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    WEBHOOK_DISABLED = "webhook.disabled"
    ALERT_RAISED = "alert.raised"
    ALERT_ACKNOWLEDGED = "alert.acknowledged"
    ALERT_RESOLVED = "alert.resolved"
    NOTIFICATION_CREATED = "notification.created"
    EXPORT_CREATED = "export.created"
    EXPORT_READY = "export.ready"
    PULSE_DIGEST = "pulse.digest"
    INTEGRATION_SYNCED = "integration.synced"
    INTEGRATION_NEEDS_REAUTH = "integration.needs_reauth"

    @property
    def durable(self) -> bool:
        """Stored in the outbox; the rest are published live only."""
        return self is not EventType.JOB_PROGRESS

    @property
    def scope(self) -> Scope:
        """What a principal needs to receive it: administration events go to admins only."""
        return _SCOPES.get(self.value.split(".", 1)[0], Scope.DOCUMENTS_READ)


_SCOPES = {
    "member": Scope.ADMIN,
    "api_key": Scope.ADMIN,
    "webhook": Scope.ADMIN,
    "case": Scope.CASES_READ,
    "alert": Scope.ALERTS_READ,
    "notification": Scope.INBOX,
    "pulse": Scope.ANALYTICS,
    "integration": Scope.ADMIN,
}


class Visibility(StrEnum):
    """Who among those holding the type's scope receives an event: the organization, the members who see a
    business unit's cases (`unit_id`; null: a case of no unit, which only unrestricted members see), or one
    member (`recipient_id`)."""

    ORG = "org"
    UNIT = "unit"
    RECIPIENT = "recipient"


class SubjectType(StrEnum):
    JOB = "job"
    DOCUMENT = "document"
    SUMMARY = "summary"
    BATCH = "batch"
    CASE = "case"
    ALERT = "alert"
    NOTIFICATION = "notification"
    SHARE = "share"
    EXPORT = "export"
    PULSE = "pulse"
    MEMBER = "member"
    API_KEY = "api_key"
    WEBHOOK = "webhook"
    INTEGRATION = "integration"


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


class Change(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str = Field(examples=["status"])
    before: str | None = Field(description="The value before the change.", examples=["open"])
    after: str | None = Field(description="The value after it.", examples=["in_progress"])


class CaseData(Data):
    number: str = Field(examples=["C-000123"])
    changes: list[Change] = Field(description="Every field that changed, from → to.")
    status: str
    priority: str
    assigned_to: UUID | None = None
    unit_id: UUID | None = None


class CommentData(Data):
    number: str = Field(description="The case's number.", examples=["C-000123"])
    comment_id: UUID
    excerpt: str = Field(description="The comment's beginning.")
    mentions: list[UUID] = Field(description="The members it mentions.")


class AlertData(Data):
    rule_id: UUID | None
    rule_name: str
    severity: str
    status: str
    title: str
    count: int = Field(description="Matches so far in the alert's throttle window.")


class NotificationData(Data):
    notification_id: UUID = Field(description="The inbox item (`GET /api/v1/inbox`), unless `in_inbox` is false.")
    kind: str = Field(examples=["mention"])
    title: str
    body: str = ""
    about: Subject | None = Field(None, description="What it is about: a case, a job, a webhook endpoint…")
    in_inbox: bool = Field(
        True, description="False when the member sends this kind to webhooks only: no inbox item holds it."
    )


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


class ExportData(Data):
    """Of an export: `export.created` when it is asked for, `export.ready` when a job's file can be downloaded. Only
    its requester receives them."""

    source: str = Field(examples=["cases"])
    format: str = Field(examples=["csv"])
    streamed: bool = Field(description="Sent in the response itself; false: a job writes a file behind a link.")
    rows: int | None = Field(None, description="Rows written, once known.")
    size_bytes: int | None = Field(None, description="The file's size, once written.")
    expires_at: datetime | None = Field(None, description="When a job's file and its link are deleted.")


class PulseData(Data):
    """An organization's periodic pulse digest (every `FOLIO_ANALYTICS__PULSE_DAYS` days, in UTC). Members who are
    limited to business units do not receive it: its figures are the whole organization's."""

    period_start: datetime = Field(description="The period the digest is of: its start (inclusive)…")
    period_end: datetime = Field(description="…and its end (exclusive), compared with as long a period before.")
    digest: str = Field(description="The short narrative.", examples=["Volume rose 23% to 412 cases…"])
    generated_by: str = Field(description="The model that wrote it, or `offline` for the templated digest.")
    pulse: dict[str, Any] = Field(
        description="The snapshot, as `GET /api/v1/analytics/pulse` answers it for the same period (digest included)."
    )


class IntegrationData(Data):
    """Of an integration (admins only): `integration.synced` when a sync finished, with what changed;
    `integration.needs_reauth` when the source refused its credentials and syncs stopped until new ones are set."""

    name: str
    kind: str = Field(examples=["notion"])
    status: str = Field(description="The integration's status after it.", examples=["active"])
    sync_id: UUID | None = Field(None, description="The sync it concerns (`GET …/integrations/{id}/syncs`).")
    created: int = 0
    updated: int = 0
    deleted: int = 0
    failed: int = 0
    message: str | None = Field(None, description="Why, when something went wrong.")


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
    EventType.CASE_UPDATED: CaseData,
    EventType.CASE_COMMENTED: CommentData,
    EventType.ENRICHMENT_FINISHED: EnrichmentData,
    EventType.MEMBER_ADDED: MemberData,
    EventType.MEMBER_ROLE_CHANGED: MemberData,
    EventType.MEMBER_REMOVED: MemberData,
    EventType.API_KEY_CREATED: ApiKeyData,
    EventType.API_KEY_REVOKED: ApiKeyData,
    EventType.WEBHOOK_DISABLED: WebhookData,
    EventType.ALERT_RAISED: AlertData,
    EventType.ALERT_ACKNOWLEDGED: AlertData,
    EventType.ALERT_RESOLVED: AlertData,
    EventType.NOTIFICATION_CREATED: NotificationData,
    EventType.EXPORT_CREATED: ExportData,
    EventType.EXPORT_READY: ExportData,
    EventType.PULSE_DIGEST: PulseData,
    EventType.INTEGRATION_SYNCED: IntegrationData,
    EventType.INTEGRATION_NEEDS_REAUTH: IntegrationData,
}
