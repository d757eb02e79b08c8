"""What the scale-out benchmark checks once the load is over, read from the database itself: every accepted upload
and batch ended, every job is final, no document has a chunk twice, and every stream received each stored event of
its organization once, in order. Also the 5xx answers against the fault timeline."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from scaleout_load import Request, StreamReport

UNFINISHED_JOBS = text(
    "SELECT kind, status, count(*) FROM jobs WHERE org_id IS NOT NULL AND status IN ('queued', 'running') "
    "GROUP BY kind, status"
)
DOCUMENT_STATUSES = text("SELECT id, status, error_code FROM documents WHERE id = ANY(:ids)")
BATCH_STATUSES = text("SELECT id, status FROM record_batches WHERE id = ANY(:ids)")
JOB_OUTCOMES = text("SELECT kind, status, error_code, count(*) FROM jobs WHERE org_id IS NOT NULL GROUP BY 1, 2, 3")
# Per document, over its live version: every ordinal once, and as many chunks as the document says it has.
DUPLICATE_CHUNKS = text(
    """
    SELECT d.id, d.chunk_count, count(c.id) AS chunks, count(DISTINCT c.ordinal) AS ordinals
    FROM documents d LEFT JOIN chunks c ON c.document_id = d.id AND c.version = d.version
    WHERE d.status = 'ready'
    GROUP BY d.id, d.chunk_count
    HAVING count(c.id) <> count(DISTINCT c.ordinal) OR count(c.id) <> coalesce(d.chunk_count, 0)
    """
)
OTHER_VERSIONS = text(
    "SELECT count(*) FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.version <> d.version"
)
ORG_EVENTS = text("SELECT org_id, array_agg(id ORDER BY id) FROM events WHERE org_id = ANY(:orgs) GROUP BY org_id")
FINAL_DOCUMENTS = frozenset({"ready", "failed"})
FINAL_BATCHES = frozenset({"succeeded", "failed", "cancelled"})
# After PostgreSQL is back, pools reconnect and requests queued behind the outage drain: 503s then still count as
# the outage's.
OUTAGE_GRACE_SECONDS = 5
DOCUMENTED_503 = frozenset({"SERVER_BUSY"})


@dataclass
class Settled:
    seconds: float
    unfinished_documents: list[str] = field(default_factory=list)
    missing_documents: list[str] = field(default_factory=list)
    unfinished_batches: list[str] = field(default_factory=list)
    unfinished_jobs: list[tuple[str, str, int]] = field(default_factory=list)


async def settle(engine: AsyncEngine, documents: Sequence[str], batches: Sequence[str], *, seconds: float) -> Settled:
    """Until every accepted document and batch is final and no job of an organization is queued or running, or
    `seconds` pass: what is still not final then."""
    started = time.monotonic()
    while True:
        async with engine.connect() as connection:
            rows = (await connection.execute(DOCUMENT_STATUSES, {"ids": [UUID(id) for id in documents]})).all()
            batch_rows = (await connection.execute(BATCH_STATUSES, {"ids": [UUID(id) for id in batches]})).all()
            jobs = [(kind, status, count) for kind, status, count in await connection.execute(UNFINISHED_JOBS)]
        found = {str(row.id) for row in rows}
        result = Settled(
            seconds=time.monotonic() - started,
            unfinished_documents=[str(row.id) for row in rows if row.status not in FINAL_DOCUMENTS],
            missing_documents=[id for id in documents if id not in found],
            unfinished_batches=[str(row.id) for row in batch_rows if row.status not in FINAL_BATCHES]
            + [id for id in batches if id not in {str(row.id) for row in batch_rows}],
            unfinished_jobs=jobs,
        )
        pending = result.unfinished_documents or result.unfinished_batches or result.unfinished_jobs
        if not pending or result.seconds > seconds:
            return result
        await asyncio.sleep(2)


async def final_state(engine: AsyncEngine, documents: Sequence[str]) -> dict[str, object]:
    async with engine.connect() as connection:
        rows = (await connection.execute(DOCUMENT_STATUSES, {"ids": [UUID(id) for id in documents]})).all()
        duplicates = (await connection.execute(DUPLICATE_CHUNKS)).all()
        other_versions = (await connection.execute(OTHER_VERSIONS)).scalar_one()
        jobs = (await connection.execute(JOB_OUTCOMES)).all()
    return {
        "documents": Counter(f"{row.status}{f' {row.error_code}' if row.error_code else ''}" for row in rows),
        "duplicates": [(str(row.id), row.chunk_count, row.chunks, row.ordinals) for row in duplicates],
        "other_versions": other_versions,
        "jobs": Counter({f"{kind} {status}{f' {code}' if code else ''}": count for kind, status, code, count in jobs}),
    }


async def org_events(engine: AsyncEngine, orgs: Iterable[str]) -> dict[str, list[int]]:
    async with engine.connect() as connection:
        rows = await connection.execute(ORG_EVENTS, {"orgs": [UUID(org) for org in orgs]})
        return {str(org): list(ids) for org, ids in rows}


def stream_violations(reports: Sequence[StreamReport], stored: dict[str, list[int]]) -> dict[str, list[str]]:
    """Each stream must have every stored event of its organization once, in id order, up to the last stored one:
    what each stream that did not got wrong, by organization."""
    found = {}
    for report in reports:
        violations = []
        expected = stored.get(report.org_id, [])
        if report.ids != expected:
            missing = sorted(set(expected) - set(report.ids))
            violations.append(
                f"stream of org {report.org_id}: {len(report.ids)} events received, {len(expected)} stored, "
                f"{len(missing)} missing (first {missing[:5]}), in order: {report.ids == sorted(report.ids)}"
            )
        if report.duplicates:
            violations.append(f"stream of org {report.org_id}: {report.duplicates} events received twice")
        if not report.reached:
            violations.append(
                f"stream of org {report.org_id} never caught up with its last stored event "
                f"({report.connects} connections, ended by {dict(report.endings)})"
            )
        if violations:
            found[report.org_id] = violations
    return found


@dataclass(frozen=True)
class Window:
    name: str
    start: float
    end: float


def server_errors(requests: Sequence[Request], outage: Window | None, start: float) -> tuple[list[str], Counter[str]]:
    """5xx answers that break the rules, grouped by status, code, endpoint, API process and whether the database was
    down (with when, in seconds into the load); and the allowed ones, counted by why they are allowed."""
    groups: dict[tuple[int, str, str, int, bool], list[float]] = defaultdict(list)
    allowed = Counter[str]()
    for label, status, ms, sent, code, api in requests:
        if status < 500:
            continue
        # Sent before the outage, answered in it: the outage's too.
        during_outage = (
            outage is not None and sent <= outage.end + OUTAGE_GRACE_SECONDS and sent + ms / 1000 >= outage.start
        )
        if status == 503 and code in DOCUMENTED_503:
            allowed[f"503 {code}"] += 1
        elif status == 503 and during_outage:
            allowed[f"503 {code or '(no code)'} in the database outage"] += 1
        else:
            groups[status, code or "(no code)", label, api, during_outage].append(sent - start)
    violations = [
        f"{status} {code} × {len(times)}: `{label}` on api{api + 1}, sent {min(times):.1f}–{max(times):.1f} s"
        + (" (the database was down)" if during_outage else "")
        for (status, code, label, api, during_outage), times in sorted(groups.items(), key=lambda item: -len(item[1]))
    ]
    return violations, allowed


def percentile(values: Sequence[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def latency_rows(requests: Sequence[Request], start: float, end: float) -> list[tuple[str, int, float, list[float]]]:
    """Per endpoint, answered requests sent during the load: (label, count, per second, [p50, p95, p99, max])."""
    by_label: dict[str, list[float]] = defaultdict(list)
    for label, status, ms, sent, _, _ in requests:
        if status and start <= sent <= end:
            by_label[label].append(ms)
    seconds = end - start
    return [
        (label, len(ms), len(ms) / seconds, [percentile(ms, 0.5), percentile(ms, 0.95), percentile(ms, 0.99), max(ms)])
        for label, ms in sorted(by_label.items(), key=lambda item: -len(item[1]))
    ]


def status_counts(requests: Sequence[Request]) -> Counter[str]:
    """Every answer that is not a success, and every attempt that got none, by status and code."""
    counts = Counter[str]()
    for _, status, _, _, code, _ in requests:
        if status == 0:
            counts[f"no answer ({code})"] += 1
        elif status >= 400:
            counts[f"{status} {code}"] += 1
    return counts
