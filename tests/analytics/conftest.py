"""Cases written straight into the database with the times and labels a test needs (the import path is tested
elsewhere): analytics answers are then known exactly."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from fastapi import FastAPI
from sqlalchemy import func, insert, select

from folio.db import new_id
from folio.models import Document, Event, Record


@dataclass(frozen=True)
class Case:
    opened_at: datetime
    status: str = "open"
    priority: str = "normal"
    category: str | None = None
    sentiment: str | None = None
    severity: str | None = None
    channel: str | None = None
    unit_id: UUID | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    due_at: datetime | None = None
    text: str = "A case."


async def insert_cases(app: FastAPI, org_id: UUID, cases: Sequence[Case]) -> list[UUID]:
    """The cases as documents of kind `record` (ready) with their records, numbered after the organization's."""
    ids = [new_id() for _ in cases]
    async with app.state.sessionmaker() as session, session.begin():
        first = await session.scalar(select(func.coalesce(func.max(Record.number), 0)).where(Record.org_id == org_id))
        await session.execute(
            insert(Document),
            [
                {
                    "id": case_id,
                    "org_id": org_id,
                    "title": case.text[:80],
                    "filename": "generated.csv",
                    "kind": "record",
                    "status": "ready",
                    "size_bytes": len(case.text),
                    "sha256": hashlib.sha256(case.text.encode()).hexdigest(),
                    "chunk_count": 1,
                }
                for case_id, case in zip(ids, cases, strict=True)
            ],
        )
        await session.execute(
            insert(Record),
            [
                {
                    "document_id": case_id,
                    "org_id": org_id,
                    "number": (first or 0) + index,
                    "opened_at": case.opened_at,
                    "case_status": case.status,
                    "priority": case.priority,
                    "category": case.category,
                    "sentiment": case.sentiment,
                    "severity": case.severity,
                    "channel": case.channel,
                    "unit_id": case.unit_id,
                    "first_response_at": case.first_response_at,
                    "resolved_at": case.resolved_at,
                    "due_at": case.due_at,
                }
                for index, (case_id, case) in enumerate(zip(ids, cases, strict=True), 1)
            ],
        )
    return ids


async def settled(app: FastAPI, org_id: UUID) -> None:
    """Wait until this process's hub has delivered every stored event of the organization (the events of its
    registration reach the analytics cache a moment after the response): a cached answer is then stale only if a
    test changes something."""
    async with app.state.sessionmaker() as session:
        last = await session.scalar(select(func.coalesce(func.max(Event.id), 0)).where(Event.org_id == org_id))
    for _ in range(1000):
        if app.state.hub.cursor >= (last or 0):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the hub has not delivered event {last} in 10 s")


def this_minute() -> dict[str, str]:
    """A period's end fixed for the test's duration: the default end, the next whole minute, moves on while a
    test runs across it, and an answer for another period is not a cache hit."""
    return {"to": (datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)).isoformat()}
