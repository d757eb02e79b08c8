"""Writing a block of a batch file's rows: new records, changed ones updated in place by external id, row errors.

One block is one transaction of a few statements per table, so importing does not wait on the embedding model and
a retried job resumes after the last block written (the batch's `rows_read` moves in the same transaction).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.cases.workflow import due_at
from folio.db import new_id
from folio.ingestion.extracted import FileKind
from folio.models import CasePriority, CaseStatus, DocumentStatus, RecordBatch
from folio.plans.errors import PlanLimitReached
from folio.plans.service import DocumentRoom, Limit
from folio.records._values import UNIT_NOT_ALLOWED, printable
from folio.records.repository import BatchRepository, CaseDefaults, RecordRepository
from folio.records.rows import RecordRow, RowError

_TITLE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Written:
    created: int
    updated: int
    unchanged: int
    failed: int
    # Records whose text is new or changed: they need indexing, and enriching when the batch enriches.
    changed_ids: list[UUID]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def title_of(row: RecordRow) -> str:
    if row.title:
        return row.title
    if row.external_id:
        return row.external_id[:500]
    first_line = " ".join(row.text.split())
    return first_line if len(first_line) <= _TITLE_CHARS else first_line[: _TITLE_CHARS - 1].rstrip() + "…"


async def write_block(
    session: AsyncSession,
    batch: RecordBatch,
    block: Sequence[RecordRow | RowError],
    *,
    created_by: UUID | None,
    units: frozenset[UUID] | None = None,
    room: DocumentRoom | None = None,
) -> Written:
    """Write the block's rows for `batch`; the caller's transaction holds the organization's import lock. `units`:
    the business units the uploader is limited to (None: every unit). `room`: what the organization's plan lets it
    add (None: no limit); a row that would make a case past it is a row error."""
    records = RecordRepository(session)
    if units is not None:
        block = await _within_units(records, batch.org_id, block, units)
    grouped = _Grouped.of(block)
    known = await records.known(batch.org_id, list(grouped.latest))
    if room is not None:
        block = _within_plan(block, grouped.latest, known, room)
        grouped = _Grouped.of(block)
    errors = [item for item in block if isinstance(item, RowError)]
    first, latest, repeats, anonymous = grouped.first, grouped.latest, grouped.repeats, grouped.anonymous
    new_rows = anonymous + [row for external_id, row in latest.items() if external_id not in known]
    changed_rows = [
        (known[external_id].document_id, row)
        for external_id, row in latest.items()
        if external_id in known and known[external_id].sha256 != text_hash(row.text)
    ]
    same_rows = [
        (known[external_id].document_id, row)
        for external_id, row in latest.items()
        if external_id in known and known[external_id].sha256 == text_hash(row.text)
    ]
    # Each row is counted against what stood before it: the stored record, or the block's earlier row.
    updated = sum(earlier.text != later.text for earlier, later in repeats) + sum(
        external_id in known and known[external_id].sha256 != text_hash(row.text) for external_id, row in first.items()
    )
    unchanged = sum(earlier.text == later.text for earlier, later in repeats) + sum(
        external_id in known and known[external_id].sha256 == text_hash(row.text) for external_id, row in first.items()
    )
    new_ids = [new_id() for _ in new_rows]
    defaults = await records.case_defaults(batch.org_id, len(new_rows))
    await records.add_many(
        [
            _document(batch, document_id, row, created_by, defaults)
            for document_id, row in zip(new_ids, new_rows, strict=True)
        ],
        [
            _new_record(batch, document_id, row, defaults, number)
            for number, (document_id, row) in enumerate(zip(new_ids, new_rows, strict=True), defaults.first_number)
        ],
        [_content(batch, document_id, row) for document_id, row in zip(new_ids, new_rows, strict=True)],
    )
    await records.update_documents([_changed_document(document_id, row) for document_id, row in changed_rows])
    await records.update_documents([_same_document(document_id, row) for document_id, row in same_rows])
    await records.update_records(
        [{"row_id": document_id, **_record_fields(batch, row)} for document_id, row in changed_rows + same_rows]
    )
    await records.update_contents(
        [{"row_id": document_id, **_content_fields(row)} for document_id, row in changed_rows]
    )
    await BatchRepository(session).add_errors(
        [
            {
                "id": new_id(),
                "org_id": batch.org_id,
                "batch_id": batch.id,
                "line": error.line,
                "code": error.code,
                "message": error.message[:500],
                "excerpt": error.excerpt[:200],
            }
            for error in errors
        ]
    )
    return Written(
        created=len(new_rows),
        updated=updated,
        unchanged=unchanged,
        failed=len(errors),
        changed_ids=new_ids + [document_id for document_id, _ in changed_rows],
    )


@dataclass(frozen=True, slots=True)
class _Grouped:
    """A block's rows by external id: a later row with the same external id replaces an earlier one of the block,
    as it would across blocks."""

    first: dict[str, RecordRow]
    latest: dict[str, RecordRow]
    repeats: list[tuple[RecordRow, RecordRow]]
    anonymous: list[RecordRow]

    @classmethod
    def of(cls, block: Sequence[RecordRow | RowError]) -> _Grouped:
        grouped = cls({}, {}, [], [])
        for item in block:
            if isinstance(item, RecordRow):
                if item.external_id is None:
                    grouped.anonymous.append(item)
                    continue
                if item.external_id in grouped.latest:
                    grouped.repeats.append((grouped.latest[item.external_id], item))
                grouped.first.setdefault(item.external_id, item)
                grouped.latest[item.external_id] = item
        return grouped


def _within_plan(
    block: Sequence[RecordRow | RowError],
    latest: dict[str, RecordRow],
    known: Mapping[str, object],
    room: DocumentRoom,
) -> list[RecordRow | RowError]:
    """The block with the rows that would make a case past the plan's documents or storage bytes made row errors,
    in the order of the file: each new case is admitted with the text it would be stored with (its external id's
    last row of the block), and every row of a refused one is an error. Rows of known cases are updates and pass."""
    decided: dict[str, Limit | None] = {}
    kept: list[RecordRow | RowError] = []
    for item in block:
        if isinstance(item, RowError) or item.external_id in known:
            kept.append(item)
            continue
        if item.external_id is None:
            over = room.admit(len(item.text.encode()))
        elif item.external_id in decided:
            over = decided[item.external_id]
        else:
            over = decided[item.external_id] = room.admit(len(latest[item.external_id].text.encode()))
        kept.append(
            item
            if over is None
            else RowError(item.line, PlanLimitReached.code, room.reason(over), printable(item.text[:200]))
        )
    return kept


async def _within_units(
    records: RecordRepository, org_id: UUID, block: Sequence[RecordRow | RowError], units: frozenset[UUID]
) -> list[RecordRow | RowError]:
    """The block with every row outside the uploader's units made a row error: a member limited to units creates
    and updates cases of those units only (a row of no unit, or of a case they cannot see, included)."""
    by_name = await records.unit_ids_by_name(org_id)
    rows = [item for item in block if isinstance(item, RecordRow)]
    existing = await records.units_of_cases(org_id, [row.external_id for row in rows if row.external_id])

    def allowed(row: RecordRow) -> bool:
        named = by_name.get(row.business_unit.lower()) if row.business_unit else None
        if named not in units:
            return False
        return row.external_id not in existing or existing[row.external_id] in units

    message = "You are limited to business units: each row must name one of yours, and may not change another's case."
    return [
        item
        if isinstance(item, RowError) or allowed(item)
        else RowError(item.line, UNIT_NOT_ALLOWED, message, printable(item.text[:200]))
        for item in block
    ]


def _document(
    batch: RecordBatch, document_id: UUID, row: RecordRow, created_by: UUID | None, defaults: CaseDefaults
) -> dict[str, Any]:
    metadata = row.metadata
    if row.business_unit and row.business_unit.lower() not in defaults.units:
        # A unit the organization does not have: kept with the case rather than lost.
        metadata = {**metadata, "business_unit": row.business_unit}
    return {
        "id": document_id,
        "org_id": batch.org_id,
        "created_by": created_by,
        "title": title_of(row),
        "filename": batch.filename,
        "kind": FileKind.RECORD.value,
        "source_type": "record",
        "status": DocumentStatus.PENDING.value,
        "tags": [],
        "metadata": metadata,
        "storage_key": None,
        "size_bytes": len(row.text.encode()),
        "sha256": text_hash(row.text),
    }


def _changed_document(document_id: UUID, row: RecordRow) -> dict[str, Any]:
    """A record whose text changed: waiting for its new chunks (the old ones stay searchable meanwhile)."""
    return {
        **_same_document(document_id, row),
        "status": DocumentStatus.PENDING.value,
        "size_bytes": len(row.text.encode()),
        "sha256": text_hash(row.text),
    }


def _same_document(document_id: UUID, row: RecordRow) -> dict[str, Any]:
    return {"row_id": document_id, "title": title_of(row), "metadata": row.metadata}


def _record_fields(batch: RecordBatch, row: RecordRow) -> dict[str, Any]:
    """What a row sets on its case whenever it is imported. The workflow fields (unit, priority, status, assignee)
    are set from the row only when the case is created: after that they are people's to change."""
    return {
        "external_id": row.external_id,
        "channel": row.channel,
        "customer": row.customer,
        "occurred_at": row.occurred_at,
        "batch_id": batch.id,
    }


def _new_record(
    batch: RecordBatch, document_id: UUID, row: RecordRow, defaults: CaseDefaults, number: int
) -> dict[str, Any]:
    priority = row.priority or CasePriority.NORMAL
    status = row.status or (CaseStatus.RESOLVED if row.resolved_at else CaseStatus.OPEN)
    done = status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
    return {
        "document_id": document_id,
        "org_id": batch.org_id,
        "number": number,
        "unit_id": defaults.units.get(row.business_unit.lower()) if row.business_unit else None,
        "priority": priority.value,
        # The SLA clock starts when the case began: an old case brought from another tool may be overdue already.
        "due_at": due_at(row.occurred_at or defaults.now, priority, defaults.sla_hours),
        "opened_at": row.occurred_at or defaults.now,
        "case_status": status.value,
        "first_response_at": row.first_response_at,
        "resolved_at": (row.resolved_at or defaults.now) if done else None,
        **_record_fields(batch, row),
    }


def _content_fields(row: RecordRow) -> dict[str, Any]:
    return {"text": row.text, "pages": [[1, 0, len(row.text)]]}


def _content(batch: RecordBatch, document_id: UUID, row: RecordRow) -> dict[str, Any]:
    return {"document_id": document_id, "org_id": batch.org_id, "version": 0, **_content_fields(row)}
