"""A source's reader from its filters, through the services of the lists it exports: the case list's filters,
saved views and enrichment schema; the document, summary and audit lists' filters; a search run once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from folio.audit.repository import AuditFilter
from folio.auth.principal import Principal, Scope
from folio.cases import service as cases
from folio.cases.schemas import CaseQuery
from folio.documents.repository import DocumentFilters
from folio.embeddings.provider import EmbeddingProvider
from folio.enrichment import service as enrichment
from folio.errors import Forbidden
from folio.exports.readers import (
    AuditReader,
    CaseReader,
    DocumentReader,
    FixedReader,
    Reader,
    SummaryReader,
)
from folio.exports.schemas import (
    AuditExportFilters,
    CaseExportFilters,
    DocumentExportFilters,
    SearchExportFilters,
    SourceFilters,
    SummaryExportFilters,
)
from folio.exports.sql import Shape
from folio.models import ExportSource
from folio.search import service as search
from folio.search.schemas import MAX_TOP_K, SearchHit, SearchRequest
from folio.settings import SearchSettings
from folio.summaries.repository import SummaryFilters

# What a principal must hold to export each source: what reading its list takes.
SCOPE_OF: Final = {
    ExportSource.CASES: Scope.CASES_READ,
    ExportSource.DOCUMENTS: Scope.DOCUMENTS_READ,
    ExportSource.SUMMARIES: Scope.DOCUMENTS_READ,
    ExportSource.AUDIT: Scope.ADMIN,
    ExportSource.SEARCH: Scope.SEARCH,
}
# An enrichment schema's fields become columns, the first this many of them.
MAX_FIELDS: Final = 100
SEARCH_COLUMNS: Final = (
    "rank",
    "score",
    "keyword_score",
    "vector_score",
    "keyword_rank",
    "vector_rank",
    "document_id",
    "document_title",
    "file_type",
    "page_start",
    "page_end",
    "ordinal",
    "chunk_id",
    "snippet",
    "text",
)


@dataclass(frozen=True, slots=True)
class Searching:
    """What a search export runs its search with."""

    embedder: Callable[[], EmbeddingProvider]
    settings: SearchSettings


def fields_of(json_schema: dict[str, Any]) -> list[str]:
    """A schema's fields in a stable order: those of `required` as it lists them, then the others by name (the
    stored schema, JSONB, does not keep the order of an object's keys)."""
    properties = json_schema.get("properties")
    if not isinstance(properties, dict):
        return []
    required = json_schema.get("required")
    listed = [name for name in required if name in properties] if isinstance(required, list) else []
    ordered = list(dict.fromkeys(listed)) + sorted(set(properties) - set(listed))
    return ordered[:MAX_FIELDS]


def check_scope(principal: Principal, source: ExportSource) -> None:
    scope = SCOPE_OF[source]
    if not principal.has(scope):
        raise Forbidden(f"Exporting {source.value} needs the {scope.value} scope.", details={"missing_scopes": [scope]})


async def resolved(session: AsyncSession, *, principal: Principal, filters: SourceFilters) -> SourceFilters:
    """The filters with a saved view's applied: the view is read now (not again when a job runs, nor per page)."""
    if not isinstance(filters, CaseExportFilters) or filters.view is None:
        return filters
    query = await cases.with_view(session, principal=principal, query=filters, view_id=filters.view)
    return CaseExportFilters.model_validate(query.explicit_filters())


async def reader_for(
    session: AsyncSession,
    *,
    principal: Principal,
    source: ExportSource,
    filters: BaseModel,
    shape: Shape,
    searching: Searching | None,
) -> Reader:
    """The reader of `source` as `principal` sees it, with `resolved` filters. A search runs here, once: its hits
    (at most the search's depth) are the export's rows."""
    check_scope(principal, source)
    if isinstance(filters, CaseExportFilters):
        query: CaseQuery = filters
        case_filters = await cases.filters_of(session, principal=principal, query=query)
        schema = await enrichment.schema_or_default(session, principal=principal, schema_id=query.schema_id)
        return CaseReader(principal, case_filters, schema.id, fields_of(schema.json_schema), shape)
    if isinstance(filters, DocumentExportFilters):
        document_filters = DocumentFilters(
            status=filters.status,
            kind=filters.kind,
            tags=tuple(filters.tag),
            created_after=filters.created_after,
            created_before=filters.created_before,
            title=filters.q,
        )
        return DocumentReader(principal, document_filters, shape)
    if isinstance(filters, SummaryExportFilters):
        summary_filters = SummaryFilters(
            document_id=filters.document_id, template_id=filters.template_id, status=filters.status
        )
        return SummaryReader(principal, summary_filters, shape)
    if isinstance(filters, AuditExportFilters):
        audit_filter = AuditFilter(
            actions=[action.value for action in filters.action],
            actor_user_id=filters.actor_user_id,
            target_type=filters.target_type,
            target_id=filters.target_id,
            since=filters.since,
            until=filters.until,
        )
        return AuditReader(principal, audit_filter, shape)
    if isinstance(filters, SearchExportFilters) and searching is not None:
        hits = await _search(session, principal, filters, searching)
        return FixedReader("search", SEARCH_COLUMNS, [_hit_row(rank, hit) for rank, hit in enumerate(hits, 1)], shape)
    raise TypeError(f"no reader for {type(filters).__name__}")


async def _search(
    session: AsyncSession, principal: Principal, filters: SearchExportFilters, searching: Searching
) -> list[SearchHit]:
    request = SearchRequest(
        query=filters.query, mode=filters.mode, filters=filters.filters, hybrid=filters.hybrid, top_k=MAX_TOP_K
    )
    # One search as deep as the export asks (up to the search's own depth), rather than a page of the API's size:
    # one embedding of the query, and one entry in the search log.
    deep = request.model_copy(update={"top_k": filters.limit})
    found = await search.search(
        session,
        principal=principal,
        request=deep,
        embedder=searching.embedder(),
        settings=searching.settings,
        source="export",
    )
    return found.items


def _hit_row(rank: int, hit: SearchHit) -> tuple[object, ...]:
    scores = hit.scores
    return (
        rank,
        scores.fused,
        scores.keyword,
        scores.vector,
        scores.keyword_rank,
        scores.vector_rank,
        str(hit.document_id),
        hit.document_title,
        hit.file_type.value,
        hit.page_start,
        hit.page_end,
        hit.ordinal,
        str(hit.chunk_id),
        hit.snippet,
        hit.text,
    )
