"""What an export is asked with: a source's filters (those of its list endpoint), a format and the BOM option;
and an export job as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from folio.audit.service import AuditAction
from folio.cases.schemas import CaseQuery
from folio.ingestion.extracted import FileKind
from folio.models import DocumentStatus, ExportFormat, ExportSource, ExportStatus, SummaryStatus
from folio.schemas import RequestModel
from folio.search.schemas import MAX_DEPTH, HybridTuning, SearchFilters, SearchMode, Tag

_EXAMPLE_ID = "0192f0c4-1d2e-7a3b-8c4d-5e6f7a8b9c0d"


class ExportOptions(RequestModel):
    format: ExportFormat = Field(
        ExportFormat.CSV,
        description="`csv` (RFC 4180, UTF-8), `jsonl` (one JSON object per line), `xlsx` (a workbook; a new sheet "
        "every 1,048,575 rows) or `md` (a GitHub-flavoured Markdown table).",
    )
    bom: bool = Field(
        False, description="Start the CSV with a UTF-8 byte-order mark, so that Excel opens it as UTF-8 (CSV only)."
    )

    @model_validator(mode="after")
    def _bom_for_csv(self) -> ExportOptions:
        if self.bom and self.format is not ExportFormat.CSV:
            raise ValueError("`bom` applies to CSV only")
        return self


# The filters of each source, as its list endpoint takes them.


class CaseExportFilters(CaseQuery):
    """The case list's filters (`GET /api/v1/cases`), and a saved view."""

    view: UUID | None = Field(
        None, description="A saved view whose filters apply; filters given here replace the view's of the same name."
    )


class DocumentExportFilters(RequestModel):
    """The document list's filters (`GET /api/v1/documents`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    status: DocumentStatus | None = Field(None, description="Only documents in this state.")
    kind: FileKind | None = Field(None, alias="type", description="Only documents of this type.")
    tag: list[Tag] = Field(
        default_factory=list, max_length=50, description="Only documents with every one of these tags (repeatable)."
    )
    created_after: datetime | None = Field(None, description="Created at or after (ISO 8601).")
    created_before: datetime | None = Field(None, description="Created before (ISO 8601).")
    q: str | None = Field(None, max_length=200, description="Title contains this (case-insensitive).")


class SummaryExportFilters(RequestModel):
    """The summary list's filters (`GET /api/v1/summaries`)."""

    model_config = ConfigDict(extra="forbid")

    document_id: UUID | None = Field(None, description="Only summaries of this document.")
    template_id: UUID | None = Field(None, description="Only summaries written with this template.")
    status: SummaryStatus | None = Field(None, description="Only summaries in this state.")


class AuditExportFilters(RequestModel):
    """The audit log's filters (`GET /api/v1/audit`)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    action: list[AuditAction] = Field(
        default_factory=list, max_length=len(AuditAction), description="Only these actions (repeatable)."
    )
    actor_user_id: UUID | None = Field(None, description="Only what this user did (themselves, or with their keys).")
    target_type: Annotated[str, StringConstraints(max_length=32, pattern=r"^[a-z_]+$")] | None = Field(
        None, description="Only actions on this kind of thing.", examples=["user"]
    )
    target_id: str | None = Field(None, max_length=64, description="Only actions on this one.")
    since: AwareDatetime | None = Field(None, alias="from", description="Entries written at or after this time.")
    until: AwareDatetime | None = Field(None, alias="to", description="Entries written before this time.")

    @model_validator(mode="after")
    def _range(self) -> AuditExportFilters:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("`to` must be later than `from`")
        return self


class SearchExportFilters(RequestModel):
    """A search (`POST /api/v1/search`) whose hits are exported, best first."""

    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=1000, description="As `POST /api/v1/search` takes it.")
    mode: SearchMode = SearchMode.HYBRID
    filters: SearchFilters = Field(default_factory=SearchFilters)
    hybrid: HybridTuning = Field(default_factory=HybridTuning)
    limit: int = Field(MAX_DEPTH, ge=1, le=MAX_DEPTH, description="At most this many hits (a search goes no deeper).")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, query: str) -> str:
        query = " ".join(query.split())
        if not query:
            raise ValueError("the query is empty")
        return query


# Streamed exports: the filters and the options in one set of query parameters (or one body, for search).


class CaseExportQuery(CaseExportFilters, ExportOptions):
    model_config = ConfigDict(extra="forbid")


class DocumentExportQuery(DocumentExportFilters, ExportOptions):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SummaryExportQuery(SummaryExportFilters, ExportOptions):
    model_config = ConfigDict(extra="forbid")


class AuditExportQuery(AuditExportFilters, ExportOptions):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SearchExport(SearchExportFilters, ExportOptions):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"query": "refund not received", "format": "csv", "bom": True},
                {"query": "termination notice period", "mode": "keyword", "format": "xlsx", "limit": 200},
            ]
        },
    )


# Export jobs.


class _JobOptions(ExportOptions):
    model_config = ConfigDict(extra="forbid")


class CasesExportJob(_JobOptions):
    source: Literal[ExportSource.CASES]
    filters: CaseExportFilters = Field(default_factory=CaseExportFilters)


class DocumentsExportJob(_JobOptions):
    source: Literal[ExportSource.DOCUMENTS]
    filters: DocumentExportFilters = Field(default_factory=DocumentExportFilters)


class SummariesExportJob(_JobOptions):
    source: Literal[ExportSource.SUMMARIES]
    filters: SummaryExportFilters = Field(default_factory=SummaryExportFilters)


class AuditExportJob(_JobOptions):
    source: Literal[ExportSource.AUDIT]
    filters: AuditExportFilters = Field(default_factory=AuditExportFilters)


class SearchExportJob(_JobOptions):
    source: Literal[ExportSource.SEARCH]
    filters: SearchExportFilters


ExportJobCreate = Annotated[
    CasesExportJob | DocumentsExportJob | SummariesExportJob | AuditExportJob | SearchExportJob,
    Field(discriminator="source"),
]
SourceFilters = (
    CaseExportFilters | DocumentExportFilters | SummaryExportFilters | AuditExportFilters | SearchExportFilters
)
FILTERS_OF: dict[ExportSource, type[SourceFilters]] = {
    ExportSource.CASES: CaseExportFilters,
    ExportSource.DOCUMENTS: DocumentExportFilters,
    ExportSource.SUMMARIES: SummaryExportFilters,
    ExportSource.AUDIT: AuditExportFilters,
    ExportSource.SEARCH: SearchExportFilters,
}
JOB_EXAMPLES: dict[str, Any] = {
    "cases": {
        "summary": "Urgent open cases with their triage labels, as XLSX",
        "value": {"source": "cases", "format": "xlsx", "filters": {"status": ["open"], "priority": ["urgent"]}},
    },
    "documents": {
        "summary": "Documents tagged `contracts`, as CSV for Excel",
        "value": {"source": "documents", "format": "csv", "bom": True, "filters": {"tag": ["contracts"]}},
    },
    "audit": {
        "summary": "Failed logins of December, as JSON Lines (admins)",
        "value": {
            "source": "audit",
            "format": "jsonl",
            "filters": {
                "action": ["auth.login_failed"],
                "from": "2026-12-01T00:00:00Z",
                "to": "2027-01-01T00:00:00Z",
            },
        },
    },
    "search": {
        "summary": "The best 500 hits of a search, as Markdown",
        "value": {"source": "search", "format": "md", "filters": {"query": "refund not received", "limit": 500}},
    },
}


class ExportRead(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _EXAMPLE_ID,
                    "source": "cases",
                    "format": "csv",
                    "bom": False,
                    "filters": {"status": ["open"]},
                    "status": "ready",
                    "job_id": "0192f0c4-1d2e-7a3b-8c4d-5e6f7a8b9c0e",
                    "filename": "cases-20261207-091403.csv",
                    "rows": 48213,
                    "size_bytes": 19873411,
                    "error_code": None,
                    "error_message": None,
                    "created_at": "2026-12-07T09:14:03.512Z",
                    "finished_at": "2026-12-07T09:14:05.020Z",
                    "expires_at": "2026-12-08T09:14:05.020Z",
                    "download_url": f"https://folio.example.com/api/v1/exports/{_EXAMPLE_ID}/download?token=8kq…",
                }
            ]
        }
    )

    id: UUID
    source: ExportSource
    format: ExportFormat
    bom: bool
    filters: dict[str, Any] = Field(description="The filters as the export applies them.")
    status: ExportStatus = Field(description="`queued`, `running`, `ready`, `failed` or `cancelled`.")
    job_id: UUID | None = Field(description="The job writing the file: `GET /api/v1/jobs/{id}` shows its progress.")
    filename: str
    rows: int | None = Field(description="Rows written, once ready.")
    size_bytes: int | None = Field(description="The file's size, once ready.")
    error_code: str | None = Field(description="Why the job failed.")
    error_message: str | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime = Field(
        description="When the file and its link are deleted: `FOLIO_EXPORTS__LINK_HOURS` after the file is written."
    )
    download_url: str | None = Field(
        description="Once ready: a link that downloads the file without authentication until `expires_at`, for a "
        "browser or a spreadsheet. Whoever holds it can download the file: share it as you would the file."
    )
