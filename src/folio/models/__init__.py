"""ORM models, one module per table. Importing this package registers every table on `Base.metadata`."""

from folio.models.alert import Alert, AlertMatch, AlertRule, AlertRuleKind, AlertSeverity, AlertStatus
from folio.models.api_key import ApiKey
from folio.models.audit import AuditActorType, AuditEntry
from folio.models.auth_session import AuthSession, RefreshToken
from folio.models.business_unit import BusinessUnit, UnitMembership
from folio.models.case_comment import CaseComment
from folio.models.case_day import CaseDay, CaseDayLabel, CaseDayStale
from folio.models.case_term import CaseTerm
from folio.models.case_unit_term import CaseUnitTerm
from folio.models.chat import Chat, ChatMessage
from folio.models.chunk import Chunk
from folio.models.document import Document, DocumentContent, DocumentStatus
from folio.models.document_tally import DocumentTally
from folio.models.embedding_index import EmbeddingIndex
from folio.models.enrichment import Enrichment, EnrichmentSchema, EnrichmentStatus
from folio.models.event import Event
from folio.models.export import Export, ExportFormat, ExportSource, ExportStatus
from folio.models.identity import AuthFlow, UserIdentity
from folio.models.integration import (
    Integration,
    IntegrationKind,
    IntegrationStatus,
    IntegrationSync,
    SummaryPublication,
    SyncStatus,
)
from folio.models.invitation import Invitation, InvitationStatus
from folio.models.job import Job, JobStatus
from folio.models.llm_settings import LLMProviderKind, OrgLLMSettings
from folio.models.membership import Membership, Role
from folio.models.notification import Notification, NotificationChannel, NotificationKind, NotificationPreference
from folio.models.organization import Organization
from folio.models.prompt_template import PromptTemplate, TemplateKind
from folio.models.record import (
    BatchFormat,
    BatchStatus,
    CasePriority,
    CaseStatus,
    Record,
    RecordBatch,
    RecordBatchError,
)
from folio.models.saved_view import SavedView
from folio.models.schedule import Schedule
from folio.models.search import SearchCorpus, SearchQuery, SearchTerm
from folio.models.share import Share, ShareItemType, ShareRecipient
from folio.models.share_link import AccessOutcome, ShareLink, ShareLinkAccess
from folio.models.summary import Summary, SummaryFormat, SummaryLength, SummaryStatus
from folio.models.usage import UsageEvent
from folio.models.user import User
from folio.models.webhook import (
    DeliveryError,
    DeliveryStatus,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = [
    "AccessOutcome",
    "Alert",
    "AlertMatch",
    "AlertRule",
    "AlertRuleKind",
    "AlertSeverity",
    "AlertStatus",
    "ApiKey",
    "AuditActorType",
    "AuditEntry",
    "AuthFlow",
    "AuthSession",
    "BatchFormat",
    "BatchStatus",
    "BusinessUnit",
    "CaseComment",
    "CaseDay",
    "CaseDayLabel",
    "CaseDayStale",
    "CasePriority",
    "CaseStatus",
    "CaseTerm",
    "CaseUnitTerm",
    "Chat",
    "ChatMessage",
    "Chunk",
    "DeliveryError",
    "DeliveryStatus",
    "Document",
    "DocumentContent",
    "DocumentTally",
    "DocumentStatus",
    "EmbeddingIndex",
    "Enrichment",
    "EnrichmentSchema",
    "EnrichmentStatus",
    "Event",
    "Export",
    "ExportFormat",
    "ExportSource",
    "ExportStatus",
    "Invitation",
    "InvitationStatus",
    "Integration",
    "IntegrationKind",
    "IntegrationStatus",
    "IntegrationSync",
    "Job",
    "JobStatus",
    "LLMProviderKind",
    "Membership",
    "Notification",
    "NotificationChannel",
    "NotificationKind",
    "NotificationPreference",
    "OrgLLMSettings",
    "Organization",
    "PromptTemplate",
    "Record",
    "RecordBatch",
    "RecordBatchError",
    "RefreshToken",
    "Role",
    "SavedView",
    "Schedule",
    "SearchCorpus",
    "SearchQuery",
    "SearchTerm",
    "Share",
    "ShareItemType",
    "ShareLink",
    "ShareLinkAccess",
    "ShareRecipient",
    "Summary",
    "SummaryPublication",
    "SyncStatus",
    "SummaryFormat",
    "SummaryLength",
    "SummaryStatus",
    "TemplateKind",
    "UsageEvent",
    "UnitMembership",
    "User",
    "UserIdentity",
    "WebhookAttempt",
    "WebhookCursor",
    "WebhookDelivery",
    "WebhookEndpoint",
]
