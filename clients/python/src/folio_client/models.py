"""What the API returns, as typed models. Written by hand once; `tests/client/test_models.py` checks every model
against the server's OpenAPI document (the component each one names in `SCHEMA_OF`), so a change on either side
fails there."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

DocumentStatus = Literal["pending", "processing", "ready", "failed"]
FileKind = Literal["pdf", "docx", "html", "markdown", "text", "record"]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
Role = Literal["owner", "admin", "bu_manager", "supervisor", "editor", "viewer"]
Scope = Literal[
    "documents:read",
    "documents:write",
    "search",
    "answers",
    "cases:read",
    "cases:write",
    "alerts:read",
    "alerts:write",
    "inbox",
    "shares",
    "analytics",
    "admin",
]
SearchMode = Literal["hybrid", "vector", "keyword"]
SummaryFormat = Literal["paragraph", "bullets", "markdown"]
SummaryLength = Literal["short", "medium", "long"]
SummaryStatus = Literal["pending", "processing", "ready", "failed", "cancelled"]

FINISHED_JOB_STATUSES: frozenset[JobStatus] = frozenset({"succeeded", "failed", "cancelled"})


class FolioModel(BaseModel):
    # Fields a newer server adds are ignored rather than refused.
    model_config = ConfigDict(extra="ignore")


class User(FolioModel):
    id: UUID
    email: str
    name: str
    created_at: datetime


class Tokens(FolioModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 — the OAuth token type, not a secret
    expires_in: int


class Registration(Tokens):
    user: User


class OrgSummary(FolioModel):
    id: UUID
    name: str


class ApiKeySummary(FolioModel):
    id: UUID
    name: str
    prefix: str


class Me(FolioModel):
    principal: Literal["user", "api_key"]
    user: User | None
    org: OrgSummary
    role: Role | None
    scopes: list[Scope]
    units: list[UUID] | None
    api_key: ApiKeySummary | None = None


class ApiKey(FolioModel):
    id: UUID
    name: str
    prefix: str
    scopes: list[Scope]
    created_by: UUID | None
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None


class ApiKeyCreated(ApiKey):
    secret: str


class Document(FolioModel):
    id: UUID
    title: str
    filename: str
    kind: FileKind
    status: DocumentStatus
    error_code: str | None
    error_message: str | None
    tags: list[str]
    metadata: dict[str, Any]
    size_bytes: int
    sha256: str
    source_type: str
    source_url: str | None
    external_last_updated: datetime | None
    integration_id: UUID | None
    external_id: str | None
    version: int
    language: str | None
    page_count: int | None
    char_count: int | None
    chunk_count: int | None
    created_at: datetime
    updated_at: datetime
    processed_at: datetime | None


class UploadedDocument(FolioModel):
    document: Document
    job_id: UUID | None
    deduplicated: bool


class UploadResponse(FolioModel):
    items: list[UploadedDocument]


class PageSpan(FolioModel):
    number: int
    start: int
    end: int


class DocumentContent(FolioModel):
    document_id: UUID
    version: int
    text: str
    pages: list[PageSpan]


class Chunk(FolioModel):
    id: UUID
    ordinal: int
    text: str
    start_char: int
    end_char: int
    page_start: int
    page_end: int
    token_count: int


class Job(FolioModel):
    id: UUID
    kind: str
    subject_id: UUID | None
    status: JobStatus
    stage: str | None
    progress: int
    message: str | None
    attempts: int
    max_attempts: int
    error_code: str | None
    error_message: str | None
    cancel_requested: bool
    payload: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    run_after: datetime

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_JOB_STATUSES


class JobEventData(FolioModel):
    """A job's state as its live events carry it."""

    kind: str
    status: JobStatus
    progress: int
    stage: str | None = None
    message: str | None = None
    subject_id: UUID | None = None
    attempt: int = 0
    error_code: str | None = None
    error_message: str | None = None


class Subject(FolioModel):
    type: str
    id: UUID | None


class JobEvent(FolioModel):
    """A job's event on the live stream (`GET /api/v1/events`)."""

    id: int | None
    type: Literal["job.queued", "job.started", "job.progress", "job.succeeded", "job.failed", "job.cancelled"]
    org_id: UUID
    subject: Subject
    created_at: datetime
    data: JobEventData


class HitScores(FolioModel):
    keyword: float | None
    vector: float | None
    fused: float
    keyword_rank: int | None = None
    vector_rank: int | None = None


class SearchHit(FolioModel):
    chunk_id: UUID
    document_id: UUID
    document_title: str
    source_url: str | None = None
    file_type: FileKind
    page_start: int
    page_end: int
    ordinal: int
    text: str
    snippet: str
    scores: HitScores


class SearchResponse(FolioModel):
    items: list[SearchHit]
    next_cursor: str | None
    mode: SearchMode
    took_ms: float


class Source(FolioModel):
    """A passage an answer was written from, numbered as the answer cites it: [1], [2]…"""

    marker: int
    chunk_id: UUID
    document_id: UUID
    document_title: str
    source_url: str | None = None
    page_start: int
    page_end: int
    text: str


class Citation(FolioModel):
    """A passage that supports the answer: `quote` is `text[start_char:end_char]` of the document's content at
    `document_version` (offsets in code points; null when the passage's place is unknown). `page` … `page_end`
    where the document has pages."""

    marker: int
    chunk_id: UUID
    document_id: UUID
    document_title: str
    source_url: str | None = None
    page: int | None = None
    page_end: int | None = None
    quote: str
    start_char: int | None = None
    end_char: int | None = None
    document_version: int | None = None

    def __str__(self) -> str:
        if self.page is None:
            where = ""
        elif self.page_end is None:
            where = f", p. {self.page}"
        else:
            where = f", pp. {self.page}-{self.page_end}"
        quote = " ".join(self.quote.split())
        return f'[{self.marker}] {self.document_title}{where}: "{quote}"'


class Usage(FolioModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Answer(FolioModel):
    answer: str
    answered: bool
    citations: list[Citation]
    sources: list[Source]
    model: str
    usage: Usage

    def __str__(self) -> str:
        """The answer, then each citation on a line of its own."""
        return "\n".join([self.answer, "", *map(str, self.citations)]) if self.citations else self.answer


class Summary(FolioModel):
    id: UUID
    document_id: UUID
    template_id: UUID | None
    template_name: str | None
    instructions: str | None
    format: SummaryFormat
    length: SummaryLength
    language: str | None
    status: SummaryStatus
    job_id: UUID | None
    document_version: int | None
    text: str | None
    model: str | None
    extractive: bool | None
    sections: int
    prompt_tokens: int
    completion_tokens: int
    error_code: str | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime


class SourcesEvent(FolioModel):
    """The first event of a streamed answer: the numbered passages it is written from."""

    type: Literal["sources"] = "sources"
    sources: list[Source]


class DeltaEvent(FolioModel):
    """The next piece of the answer's text."""

    type: Literal["delta"] = "delta"
    text: str


class DoneEvent(FolioModel):
    """The last event of a streamed answer: whether it answers, what it cites, the model and its usage."""

    type: Literal["done"] = "done"
    answered: bool
    citations: list[Citation]
    model: str
    usage: Usage


AnswerEvent = SourcesEvent | DeltaEvent | DoneEvent

# The OpenAPI component each model is checked against.
SCHEMA_OF: dict[type[FolioModel], str] = {
    User: "UserRead",
    Tokens: "TokenResponse",
    Registration: "RegisterResponse",
    OrgSummary: "OrgSummary",
    ApiKeySummary: "ApiKeySummary",
    Me: "MeResponse",
    ApiKey: "ApiKeyRead",
    ApiKeyCreated: "ApiKeyCreated",
    Document: "DocumentRead",
    UploadedDocument: "UploadedDocument",
    UploadResponse: "UploadResponse",
    PageSpan: "PageSpanRead",
    DocumentContent: "DocumentContentRead",
    Chunk: "ChunkRead",
    Job: "JobRead",
    JobEventData: "JobData",
    HitScores: "HitScores",
    SearchHit: "SearchHit",
    SearchResponse: "SearchResponse",
    Source: "SourceRead",
    Citation: "Citation",
    Usage: "UsageRead",
    Answer: "AnswerResponse",
    Summary: "SummaryRead",
}
