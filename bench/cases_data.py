"""What bench/cases.py loads: the batch files, the 50 alert rules, and the background written into the database
(cases cloned from enriched ones, their history of `case.updated` events)."""

from __future__ import annotations

import csv
import json
import random
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Table

sys.path.insert(0, str(Path(__file__).parent))
from folio.cases.workflow import DEFAULT_SLA_HOURS, case_number
from folio.enrichment.triage import TRIAGE_SCHEMA_ID
from folio.events.schemas import CaseData, Change
from folio.models import CasePriority, CaseStatus, Document, DocumentContent, Enrichment, Record
from records import CHANNELS, customers, message

UNIT_NAMES = tuple(
    f"{region} {line}"
    for region in ("North", "South", "East", "West", "Central")
    for line in ("Consumer", "Business", "Enterprise", "Partners")
)
QUIET_UNIT = "Archive"
MAPPING = {
    "text": "message",
    "external_id": "ticket_id",
    "created_at": "created_at",
    "channel": "channel",
    "customer": "customer",
    "business_unit": "business_unit",
    "priority": "priority",
}
PRIORITIES = ((CasePriority.LOW, 20), (CasePriority.NORMAL, 50), (CasePriority.HIGH, 22), (CasePriority.URGENT, 8))
STATUSES = (
    (CaseStatus.OPEN, 25),
    (CaseStatus.IN_PROGRESS, 15),
    (CaseStatus.WAITING, 10),
    (CaseStatus.RESOLVED, 30),
    (CaseStatus.CLOSED, 20),
)
# Background cases were created over the last quarter; their history lies within the events' 30-day retention.
CASE_SPAN = timedelta(days=90)
HISTORY_SPAN = timedelta(days=29)
# Updates per background case (mean 1.9), each a `case.updated` event.
UPDATES = (0, 1, 1, 2, 2, 3, 4)


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, int]]) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


# The batch files.


def write_batch(path: Path, rows: int, *, seed: int, prefix: str, now: datetime) -> None:
    """Customer messages over the 20 units, written a row at a time: created over the last three days, and one
    unit's outage burst (4 % of the rows) in the last half hour, for the spike rules to find."""
    rng = random.Random(seed)
    pool = customers(rng)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["ticket_id", "created_at", "channel", "customer", "business_unit", "priority", "message"])
        for index in range(rows):
            burst = rng.random() < 0.04
            ago = timedelta(seconds=rng.uniform(0, 1800) if burst else rng.uniform(0, 3 * 86400))
            text = message(rng)
            writer.writerow(
                [
                    f"{prefix}-{index + 1:07d}",
                    (now - ago).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    _weighted(rng, CHANNELS),
                    pool[min(int(rng.expovariate(1 / 30)), len(pool) - 1)],
                    UNIT_NAMES[3] if burst else rng.choice(UNIT_NAMES),
                    _weighted(rng, PRIORITIES).value,
                    f"Outage right now, nothing works. {text}" if burst else text,
                ]
            )


# The alert rules: 18 saved searches, 22 conditions, 10 spike detectors.

_KEYWORD = ("charged twice", "refund", "cancel", "outage", '"delivery tracking"', "discount code")
_VECTOR = (
    "my card was charged two times",
    "the app crashes as soon as I open it",
    "the parcel was never delivered",
    "I want to cancel my contract",
    "nobody from support ever answered me",
    "the router keeps going offline",
)
_HYBRID = (
    "washing machine broken",
    "wrong balance in the banking app",
    "logged out every few minutes",
    "notifications in the middle of the night",
    "password reset does not work",
    "angry customer threatens to leave",
)


def _comparison(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def _all(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"all": list(parts)}


_CONDITIONS: tuple[tuple[dict[str, Any], slice | None], ...] = (
    (_all(_comparison("severity", "gte", "high"), _comparison("category", "eq", "billing")), None),
    (_all(_comparison("sentiment", "eq", "negative"), _comparison("channel", "eq", "email")), None),
    (_comparison("risk_flag", "eq", True), None),
    (_comparison("priority", "eq", "urgent"), None),
    (_comparison("sla_breached", "eq", True), None),
    (_all(_comparison("needs_review", "eq", True), _comparison("severity", "gte", "medium")), None),
    (_comparison("confidence", "lt", 0.4), None),
    (_comparison("category", "in", ["refund_return", "cancellation"]), None),
    (_all(_comparison("sentiment", "eq", "negative"), _comparison("priority", "gte", "high")), None),
    (
        _all(
            {
                "any": [
                    _comparison("category", "eq", "technical_issue"),
                    _comparison("category", "eq", "account_access"),
                ]
            },
            _comparison("severity", "eq", "critical"),
        ),
        None,
    ),
    (
        _all({"not": _comparison("status", "in", ["resolved", "closed"])}, _comparison("severity", "eq", "critical")),
        None,
    ),
    (_comparison("customer", "eq", "Acme Ltd"), None),
    (_all(_comparison("channel", "eq", "social media"), _comparison("sentiment", "eq", "negative")), None),
    (_comparison("category", "eq", "shipping_delivery"), slice(2, 4)),
    (_comparison("severity", "eq", "critical"), slice(0, 5)),
    (_all(_comparison("assigned", "eq", False), _comparison("priority", "gte", "high")), None),
    (_all(_comparison("category", "eq", "product_quality"), _comparison("risk_flag", "eq", True)), None),
    (_all(_comparison("sentiment", "eq", "positive"), _comparison("category", "eq", "praise")), None),
    (_all(_comparison("category", "eq", "customer_service"), _comparison("severity", "gte", "high")), None),
    (
        _all(
            {"any": [_comparison("channel", "eq", "phone"), _comparison("channel", "eq", "chat")]},
            _comparison("severity", "gte", "high"),
        ),
        slice(5, 10),
    ),
    (_comparison("category", "eq", "feature_request"), slice(10, 20)),
    (_all(_comparison("sla_breached", "eq", True), _comparison("priority", "gte", "high")), None),
)
_SPIKES: tuple[tuple[dict[str, Any], slice | None], ...] = (
    ({"group_by": "unit"}, None),
    ({"group_by": "unit", "alpha": 0.0001}, slice(0, 10)),
    ({"group_by": "category"}, None),
    ({"group_by": "category", "window_minutes": 30, "baseline_windows": 48}, None),
    ({"group_by": "category", "alpha": 0.01, "min_support": 10}, slice(10, 20)),
    ({"group_by": "term", "term": "outage"}, None),
    ({"group_by": "term", "term": "refund"}, None),
    ({"group_by": "term", "term": "crashing"}, None),
    ({"group_by": "term", "term": "cancel"}, slice(0, 10)),
    ({"group_by": "term", "term": "charged twice"}, None),
)


def alert_rules(unit_ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """50 rule bodies for POST /api/v1/alerts/rules: a third of them over some units only."""

    def units(part: slice | None) -> list[str] | None:
        return None if part is None else [str(unit_id) for unit_id in unit_ids[part]]

    rules: list[dict[str, Any]] = []
    for number, query in enumerate(_KEYWORD):
        filters = {"file_types": ["record"]} if number % 2 else {}
        definition: dict[str, Any] = {"kind": "search", "query": query, "mode": "keyword", "filters": filters}
        rules.append({"name": f"Keyword: {query}", "definition": definition})
    for number, query in enumerate(_VECTOR):
        definition = {"kind": "search", "query": query, "mode": "vector", "min_score": 0.6}
        rules.append({"name": f"Like: {query}", "definition": definition, "unit_ids": units(slice(number, number + 4))})
    for query in _HYBRID:
        definition = {"kind": "search", "query": query, "mode": "hybrid", "min_score": 0.6}
        rules.append({"name": f"Hybrid: {query}", "definition": definition, "severity": "high"})
    for number, (condition, part) in enumerate(_CONDITIONS):
        definition = {"kind": "condition", "condition": condition}
        rules.append({"name": f"Condition {number + 1}", "definition": definition, "unit_ids": units(part)})
    for number, (spike, part) in enumerate(_SPIKES):
        definition = {"kind": "spike", **spike}
        rules.append({"name": f"Spike {number + 1}", "definition": definition, "unit_ids": units(part)})
    return [{key: value for key, value in rule.items() if value is not None} for rule in rules]


# The background, written into the database.


def uuid7_at(moment: datetime, rng: random.Random) -> UUID:
    """A UUIDv7 of `moment`, as `folio.db.new_id` makes them: ids sort by creation, as pages expect."""
    millis = int(moment.timestamp() * 1000)
    value = (millis << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64) | (0b10 << 62) | rng.getrandbits(62)
    return UUID(int=value)


@dataclass(frozen=True, slots=True)
class Org:
    org_id: UUID
    owner_id: UUID
    unit_ids: Sequence[UUID]
    # Who works each unit's cases (editors limited to it): assignees and authors of changes.
    workers: Mapping[UUID, Sequence[UUID]]


@dataclass(frozen=True, slots=True)
class Clone:
    case_id: UUID
    enrichment_id: UUID
    source: UUID
    number: int
    external_id: str
    unit_id: UUID
    status: CaseStatus
    priority: CasePriority
    assigned_to: UUID | None
    occurred_at: datetime
    created_at: datetime
    due_at: datetime
    resolved_at: datetime | None


def plan_clones(org: Org, sources: Sequence[UUID], count: int, first_number: int, now: datetime) -> list[Clone]:
    """`count` cases, each a copy of an enriched source case (its text, title, metadata, labels) in a unit, status
    and priority of its own, created over the last 90 days, oldest first."""
    rng = random.Random(7)
    created = sorted(now - timedelta(seconds=rng.uniform(3600, CASE_SPAN.total_seconds())) for _ in range(count))
    clones = []
    for index, created_at in enumerate(created):
        unit_id = rng.choice(org.unit_ids)
        status: CaseStatus = _weighted(rng, STATUSES)
        priority: CasePriority = _weighted(rng, PRIORITIES)
        done = status in (CaseStatus.RESOLVED, CaseStatus.CLOSED)
        assigned = status is not CaseStatus.OPEN and rng.random() < 0.7
        clones.append(
            Clone(
                case_id=uuid7_at(created_at, rng),
                enrichment_id=uuid7_at(created_at, rng),
                source=rng.choice(sources),
                number=first_number + index,
                external_id=f"BG-{index + 1:07d}",
                unit_id=unit_id,
                status=status,
                priority=priority,
                assigned_to=rng.choice(org.workers[unit_id]) if assigned else None,
                occurred_at=created_at - timedelta(seconds=rng.uniform(0, 2 * 86400)),
                created_at=created_at,
                due_at=created_at + timedelta(hours=DEFAULT_SLA_HOURS[priority]),
                resolved_at=min(created_at + timedelta(hours=rng.uniform(1, 120)), now) if done else None,
            )
        )
    return clones


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _clone_statement(table: Table, key: str, overrides: Mapping[str, str], where: str = "") -> str:
    """INSERT … SELECT of `table`'s rows of the clones' sources, every column copied but `overrides`."""
    names = [column.name for column in table.columns]
    chosen = ", ".join(overrides.get(name, f"s.{_quoted(name)}") for name in names)
    columns = ", ".join(_quoted(name) for name in names)
    # The names are our own models' columns, never input.
    source = f"FROM clone_plan p JOIN {table.name} s ON s.{_quoted(key)} = p.source {where}"
    return f"INSERT INTO {table.name} ({columns}) SELECT {chosen} {source}"


_DOCUMENT = {"id": "p.case_id", "created_at": "p.created_at", "updated_at": "p.created_at"}
_DOCUMENT_PROCESSED = {"processed_at": "p.created_at"}
_CONTENT = {"document_id": "p.case_id"}
_RECORD = {
    "document_id": "p.case_id",
    "external_id": "p.external_id",
    "number": "p.number",
    "unit_id": "p.unit_id",
    "occurred_at": "p.occurred_at",
    "case_status": "p.status",
    "priority": "p.priority",
    "assigned_to": "p.assigned_to",
    "due_at": "p.due_at",
    "resolved_at": "p.resolved_at",
    "batch_id": "NULL",
    "updated_at": "p.created_at",
}
_ENRICHMENT = {
    "id": "p.enrichment_id",
    "document_id": "p.case_id",
    "job_id": "NULL",
    "created_at": "p.created_at",
    "enriched_at": "p.created_at",
    "updated_at": "p.created_at",
}


async def clone_cases(url: str, org: Org, count: int, now: datetime) -> float:
    """Write `count` background cases cloned from the organization's enriched cases; seconds taken."""
    started = time.perf_counter()
    connection = await asyncpg.connect(url)
    try:
        async with connection.transaction():
            sources = [
                row["document_id"]
                for row in await connection.fetch(
                    "SELECT e.document_id FROM enrichments e JOIN records r ON r.document_id = e.document_id "
                    "WHERE e.org_id = $1 AND e.schema_id = $2 AND e.data IS NOT NULL",
                    org.org_id,
                    TRIAGE_SCHEMA_ID,
                )
            ]
            if not sources:
                raise SystemExit("no enriched case to clone: did the seed batch enrich?")
            last = await connection.fetchval(
                "UPDATE organizations SET case_numbers = case_numbers + $2 WHERE id = $1 RETURNING case_numbers",
                org.org_id,
                count,
            )
            clones = plan_clones(org, sources, count, last - count + 1, now)
            await connection.execute(
                "CREATE TEMP TABLE clone_plan (case_id uuid, enrichment_id uuid, source uuid, number bigint, "
                "external_id text, unit_id uuid, status text, priority text, assigned_to uuid, "
                "occurred_at timestamptz, created_at timestamptz, due_at timestamptz, resolved_at timestamptz) "
                "ON COMMIT DROP"
            )
            await connection.copy_records_to_table(
                "clone_plan",
                records=[
                    (
                        clone.case_id,
                        clone.enrichment_id,
                        clone.source,
                        clone.number,
                        clone.external_id,
                        clone.unit_id,
                        clone.status.value,
                        clone.priority.value,
                        clone.assigned_to,
                        clone.occurred_at,
                        clone.created_at,
                        clone.due_at,
                        clone.resolved_at,
                    )
                    for clone in clones
                ],
            )
            documents = Document.__table__
            await connection.execute(
                _clone_statement(documents, "id", _DOCUMENT | _DOCUMENT_PROCESSED)  # type: ignore[arg-type]
            )
            await connection.execute(_clone_statement(DocumentContent.__table__, "document_id", _CONTENT))  # type: ignore[arg-type]
            await connection.execute(_clone_statement(Record.__table__, "document_id", _RECORD))  # type: ignore[arg-type]
            await connection.execute(
                _clone_statement(
                    Enrichment.__table__,  # type: ignore[arg-type]
                    "document_id",
                    _ENRICHMENT,
                    f"WHERE s.schema_id = '{TRIAGE_SCHEMA_ID}'",
                )
            )
        await _analyze(connection, ("documents", "document_contents", "records", "enrichments"))
    finally:
        await connection.close()
    return time.perf_counter() - started


_NEXT = {
    CaseStatus.OPEN: CaseStatus.IN_PROGRESS,
    CaseStatus.IN_PROGRESS: CaseStatus.WAITING,
    CaseStatus.WAITING: CaseStatus.IN_PROGRESS,
    CaseStatus.RESOLVED: CaseStatus.CLOSED,
    CaseStatus.CLOSED: CaseStatus.OPEN,
}


async def write_history(url: str, org: Org, now: datetime) -> tuple[int, float]:
    """`case.updated` events of the background cases' past changes (status, priority, assignee), as the feed
    stores them, oldest first (event ids follow commit order); how many, and seconds taken."""
    started = time.perf_counter()
    rng = random.Random(11)
    connection = await asyncpg.connect(url)
    try:
        cases = await connection.fetch(
            "SELECT r.document_id, r.number, r.unit_id, r.case_status, r.priority, r.assigned_to, d.created_at "
            "FROM records r JOIN documents d ON d.id = r.document_id WHERE r.org_id = $1 AND r.external_id LIKE 'BG-%'",
            org.org_id,
        )
        events: list[tuple[Any, ...]] = []
        oldest = now - HISTORY_SPAN
        for case in cases:
            status, priority = CaseStatus(case["case_status"]), CasePriority(case["priority"])
            for _ in range(rng.choice(UPDATES)):
                at = now - timedelta(seconds=rng.uniform(3600, (now - max(case["created_at"], oldest)).total_seconds()))
                actor = rng.choice([org.owner_id, *org.workers[case["unit_id"]]])
                kind = rng.random()
                if kind < 0.6:
                    change = Change(field="status", before=status.value, after=_NEXT[status].value)
                elif kind < 0.8:
                    after = rng.choice([value for value in CasePriority if value is not priority])
                    change = Change(field="priority", before=priority.value, after=after.value)
                else:
                    change = Change(field="assigned_to", before=None, after=str(actor))
                data = CaseData(
                    number=case_number(case["number"]),
                    changes=[change],
                    status=status.value,
                    priority=priority.value,
                    assigned_to=case["assigned_to"],
                    unit_id=case["unit_id"],
                )
                events.append(
                    (at, org.org_id, "case.updated", "case", case["document_id"], "user", actor, "unit")
                    + (case["unit_id"], json.dumps(data.model_dump(mode="json")))
                )
        events.sort(key=lambda event: event[0])
        await connection.copy_records_to_table(
            "events",
            records=events,
            columns=[
                "created_at",
                "org_id",
                "type",
                "subject_type",
                "subject_id",
                "actor_type",
                "actor_id",
                "visibility",
                "unit_id",
                "data",
            ],
        )
        await _analyze(connection, ("events",))
    finally:
        await connection.close()
    return len(events), time.perf_counter() - started


async def _analyze(connection: asyncpg.Connection, tables: Sequence[str]) -> None:
    """What autovacuum does a little later on a live server; done now so every run starts alike."""
    for name in tables:
        await connection.execute(f"VACUUM ANALYZE {name}")


def now_utc() -> datetime:
    return datetime.now(UTC)
