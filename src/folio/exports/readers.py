"""Every export source as pages of rows (`folio.exports.sql`), in the source's list order, with the list's own
scoping and filters: the same cases, documents, summaries and audit entries the list endpoints show the principal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

import orjson
from sqlalchemy import ColumnElement, Select, Text, and_, cast, func, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from folio.audit.repository import AuditFilter, AuditRepository
from folio.auth.principal import Principal
from folio.cases.repository import CaseFilters, CaseRepository, case_conditions
from folio.cases.workflow import DONE
from folio.db import table
from folio.documents.repository import DocumentFilters, DocumentRepository
from folio.exports.formats import Lines, Row, sheet_text
from folio.exports.sql import Bounds, Column, Columns, Keyset, Page, Shape, ids, json, plain, size, times
from folio.models import AuditEntry, BusinessUnit, Document, DocumentContent, Enrichment, Record, Summary, User
from folio.summaries.repository import SummaryFilters, SummaryRepository


class Reader(Protocol):
    """A source's pages. `name` names the sheet and the file."""

    @property
    def name(self) -> str: ...

    @property
    def columns(self) -> Sequence[str]: ...

    async def page(self, session: AsyncSession, after: Any, bounds: Bounds) -> Page: ...

    async def count(self, session: AsyncSession) -> int:
        """Rows the export has now (for a job's progress)."""
        ...


async def _count(session: AsyncSession, statement: Select[*tuple[Any, ...]]) -> int:
    return int(await session.scalar(statement.with_only_columns(func.count()).order_by(None)) or 0)


class _ListReader:
    """A list's rows in its order, keyset-paged along `key`: `_base` is the list's scoped and filtered statement,
    `_rows` the same with the export's columns (and what they join)."""

    # A table's column: a mapped attribute on the class would be read through the reader instance.
    key: Any
    descending = False
    spec: Columns
    # What a row weighs, for the page's budget; None: rows are bounded when written.
    size: Any = None
    _pages: Keyset | None = None

    def _base(self, session: AsyncSession) -> Select[*tuple[Any, ...]]:
        raise NotImplementedError

    def _rows(self, session: AsyncSession) -> Select[*tuple[Any, ...]]:
        return self._base(session).with_only_columns(*self.spec.sql)

    async def count(self, session: AsyncSession) -> int:
        return await _count(session, self._base(session))

    async def page(self, session: AsyncSession, after: Any, bounds: Bounds) -> Page:
        if self._pages is None:
            rows = self._rows(session)
            self._pages = Keyset(
                lambda _: rows, spec=self.spec, key=self.key, descending=self.descending, size=self.size
            )
        return await self._pages.page(session, after, bounds)


# Cases.

ENRICHMENT_PREFIX = "enrichment."
# The enrichment a case's row shows, apart from the one the enrichment filters look at (`case_conditions`): they
# may be of different schemas, and the filters' subquery must not correlate with this join.
_LABELS = aliased(Enrichment)


class CaseReader:
    """Cases, oldest first, with their enrichment by one schema: its state, and its fields as columns
    (`enrichment.<field>`, in the order `fields` gives)."""

    name = "cases"

    def __init__(
        self, principal: Principal, filters: CaseFilters, schema_id: UUID, fields: Sequence[str], shape: Shape
    ) -> None:
        self.principal, self.filters, self.schema_id = principal, filters, schema_id
        self.fields = list(fields)
        overdue = func.coalesce(and_(Record.due_at < func.now(), Record.case_status.not_in(DONE)), False)
        number = cast(Record.number, Text)
        base = [
            *ids(("id", Record.document_id)),
            Column("number", "C-" + func.lpad(number, func.greatest(6, func.length(number)), "0"), bare=True),
            Column("external_id", Record.external_id),
            Column("title", Document.title),
            Column("text", func.coalesce(DocumentContent.text, "")),
            Column("channel", Record.channel),
            Column("customer", Record.customer),
            Column("status", plain(Record.case_status), bare=True),
            Column("priority", plain(Record.priority), bare=True),
            *ids(("unit_id", Record.unit_id)),
            Column("unit", BusinessUnit.name),
            *ids(("assigned_to", Record.assigned_to)),
            Column("assignee", User.name),
            *times(("due_at", Record.due_at)),
            Column("overdue", overdue, bare=True),
            *times(
                ("resolved_at", Record.resolved_at),
                ("occurred_at", Record.occurred_at),
                ("created_at", Document.created_at),
                ("updated_at", func.greatest(Record.updated_at, Document.updated_at)),
            ),
            *ids(("batch_id", Record.batch_id)),
            Column("index_status", plain(Document.status), bare=True),
            json("metadata", Document.meta),
            Column("enrichment_status", plain(_LABELS.status), bare=True),
            Column("enrichment_confidence", _LABELS.confidence, bare=True),
            Column("enrichment_needs_review", _LABELS.needs_review, bare=True),
        ]
        self.columns = [*(column.name for column in base), *(ENRICHMENT_PREFIX + field for field in self.fields)]
        if shape is Shape.LINES:
            labels = [Column(ENRICHMENT_PREFIX + field, _LABELS.data[field].astext) for field in self.fields]
            self.spec = Columns([*base, *labels], shape)
        else:
            # The fields are picked out of the enrichment's JSON here, with their JSON types.
            self.spec = Columns([*base, Column("enrichment", cast(_LABELS.data, Text))], shape)
        self._pages = Keyset(
            self._statement,
            spec=self.spec,
            key=Record.document_id,
            descending=False,
            size=size(
                func.octet_length(DocumentContent.text),
                func.pg_column_size(Document.meta),
                func.pg_column_size(_LABELS.data),
            ),
        )

    def _base(self) -> Select[*tuple[Any, ...]]:
        return CaseRepository.scoped(self.principal).where(*case_conditions(self.filters))

    async def count(self, session: AsyncSession) -> int:
        return await _count(session, self._base())

    def _statement(self, after: ColumnElement[Any] | None) -> Select[*tuple[Any, ...]]:
        # The planner does not carry the key's range over to the joined tables: unless it is said of each, every
        # merge join reads its table from the start, and a page deep into a million cases takes seconds.
        def past(key: Any) -> ColumnElement[bool]:
            return key > after if after is not None else true()

        return (
            self._base()
            .where(past(Document.id))
            .with_only_columns(*self.spec.sql)
            .outerjoin(
                DocumentContent,
                and_(DocumentContent.document_id == Record.document_id, past(DocumentContent.document_id)),
            )
            .outerjoin(BusinessUnit, BusinessUnit.id == Record.unit_id)
            .outerjoin(User, User.id == Record.assigned_to)
            .outerjoin(
                _LABELS,
                and_(
                    _LABELS.document_id == Record.document_id,
                    _LABELS.schema_id == self.schema_id,
                    past(_LABELS.document_id),
                ),
            )
        )

    async def page(self, session: AsyncSession, after: Any, bounds: Bounds) -> Page:
        page = await self._pages.page(session, after, bounds)
        if self.spec.shape is Shape.LINES:
            return page
        return Page([self._with_fields(row) for row in page.rows], page.after)

    def _with_fields(self, row: Row) -> Row:
        *values, data = row
        labels = orjson.loads(data) if data is not None else {}
        if not isinstance(labels, dict):
            labels = {}
        return (*values, *[labels.get(field) for field in self.fields])


# Documents (their metadata, not their text).


class DocumentReader(_ListReader):
    """Documents the principal sees, oldest first, as the document list filters them."""

    name = "documents"
    key = table(Document).c.id

    def __init__(self, principal: Principal, filters: DocumentFilters, shape: Shape) -> None:
        self.principal, self.filters = principal, filters
        self.spec = Columns(
            [
                *ids(("id", Document.id)),
                Column("title", Document.title),
                Column("filename", Document.filename),
                Column("type", plain(Document.kind), bare=True),
                Column("status", plain(Document.status), bare=True),
                json("tags", func.array_to_json(Document.tags)),
                json("metadata", Document.meta),
                Column("size_bytes", Document.size_bytes, bare=True),
                Column("sha256", Document.sha256, bare=True),
                Column("version", Document.version, bare=True),
                Column("page_count", Document.page_count, bare=True),
                Column("char_count", Document.char_count, bare=True),
                Column("chunk_count", Document.chunk_count, bare=True),
                Column("error_code", Document.error_code, bare=True),
                Column("error_message", Document.error_message),
                *times(
                    ("created_at", Document.created_at),
                    ("updated_at", Document.updated_at),
                    ("processed_at", Document.processed_at),
                ),
            ],
            shape,
        )
        self.columns = self.spec.names
        self.size = size(func.pg_column_size(Document.meta), func.octet_length(Document.error_message))

    def _base(self, session: AsyncSession) -> Select[*tuple[Any, ...]]:
        return DocumentRepository(session).scoped(self.principal).where(*self.filters.where())


# Summaries.


class SummaryReader(_ListReader):
    """Summaries of the documents the principal sees, oldest first, as the summary list filters them."""

    name = "summaries"
    key = table(Summary).c.id

    def __init__(self, principal: Principal, filters: SummaryFilters, shape: Shape) -> None:
        self.principal, self.filters = principal, filters
        self.spec = Columns(
            [
                *ids(("id", Summary.id), ("document_id", Summary.document_id)),
                Column("document_title", Document.title),
                *ids(("template_id", Summary.template_id)),
                Column("template_name", Summary.template_name),
                Column("instructions", Summary.instructions),
                Column("format", plain(Summary.format), bare=True),
                Column("length", plain(Summary.length), bare=True),
                Column("language", Summary.language),
                Column("status", plain(Summary.status), bare=True),
                *ids(("job_id", Summary.job_id)),
                Column("document_version", Summary.document_version, bare=True),
                Column("text", Summary.text),
                Column("model", Summary.model),
                Column("extractive", Summary.extractive, bare=True),
                Column("sections", Summary.sections, bare=True),
                Column("prompt_tokens", Summary.prompt_tokens, bare=True),
                Column("completion_tokens", Summary.completion_tokens, bare=True),
                Column("error_code", Summary.error_code, bare=True),
                Column("error_message", Summary.error_message),
                *times(("created_at", Summary.created_at), ("updated_at", Summary.updated_at)),
            ],
            shape,
        )
        self.columns = self.spec.names
        self.size = size(
            func.octet_length(Summary.text),
            func.octet_length(Summary.instructions),
            func.octet_length(Summary.error_message),
        )

    def _base(self, session: AsyncSession) -> Select[*tuple[Any, ...]]:
        return SummaryRepository(session).scoped(self.principal).where(*self.filters.where())

    def _rows(self, session: AsyncSession) -> Select[*tuple[Any, ...]]:
        return super()._rows(session).join(Document, Document.id == Summary.document_id)


# The audit log.


class AuditReader(_ListReader):
    """The organization's audit log, newest first, as its list filters it (the service lets admins only). Details
    are bounded (4 KiB) when written: a page needs no budget."""

    name = "audit"
    key = table(AuditEntry).c.id
    descending = True

    def __init__(self, principal: Principal, filters: AuditFilter, shape: Shape) -> None:
        self.principal, self.filters = principal, filters
        self.spec = Columns(
            [
                Column("id", AuditEntry.id, bare=True),
                *times(("created_at", AuditEntry.created_at)),
                Column("action", AuditEntry.action),
                Column("actor_type", plain(AuditEntry.actor_type), bare=True),
                *ids(("actor_user_id", AuditEntry.actor_user_id), ("actor_api_key_id", AuditEntry.actor_api_key_id)),
                Column("actor_email", AuditEntry.actor_email),
                Column("target_type", AuditEntry.target_type),
                Column("target_id", AuditEntry.target_id),
                Column("ip", AuditEntry.ip),
                Column("user_agent", AuditEntry.user_agent),
                Column("request_id", AuditEntry.request_id),
                json("details", AuditEntry.details),
            ],
            shape,
        )
        self.columns = self.spec.names

    def _base(self, session: AsyncSession) -> Select[*tuple[Any, ...]]:
        return AuditRepository(session).scoped(self.principal).where(*self.filters.where())


# Rows already in memory.


def csv_lines(rows: Sequence[Row]) -> Lines:
    """Rows of values as CSV, as the database writes it: text neutralised, the rest as it is."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        [None if value is None else sheet_text(value) for value in row] for row in rows
    )
    return Lines(buffer.getvalue().encode(), len(rows))


class FixedReader:
    """Rows already in memory (search hits, bounded by the search's depth), as one page."""

    def __init__(self, name: str, columns: Sequence[str], rows: Sequence[Row], shape: Shape) -> None:
        self.name = name
        self.columns = columns
        self.rows: Lines | list[Any] = csv_lines(rows) if shape is Shape.LINES else list(rows)

    async def count(self, session: AsyncSession) -> int:
        return len(self.rows)

    async def page(self, session: AsyncSession, after: Any, bounds: Bounds) -> Page:
        return Page(self.rows, None)
