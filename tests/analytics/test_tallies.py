"""The document tallies the overview reads stay equal to a count of the documents themselves, whatever writes them:
inserts, updates of many rows at once, cases moving between units, units deleted, cases deleted, and a case moved
while its document changes in another transaction; folding them keeps their sums."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from uuid import UUID

import httpx
from fastapi import FastAPI
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from folio.db import new_id
from folio.jobs.kinds import COMPACT_TALLIES
from folio.jobs.periodic import periodic_work
from folio.models import BusinessUnit, Document, DocumentTally, Record
from tests.conftest import make_settings
from tests.factories import register

Key = tuple[UUID | None, str, str]
STATUSES = ("pending", "processing", "ready", "failed")


async def tallied(session: AsyncSession, org_id: UUID) -> dict[Key, tuple[int, int, int]]:
    rows = await session.execute(
        select(
            DocumentTally.unit_id,
            DocumentTally.kind,
            DocumentTally.status,
            func.sum(DocumentTally.documents),
            func.sum(DocumentTally.chunks),
            func.sum(DocumentTally.bytes),
        )
        .where(DocumentTally.org_id == org_id)
        .group_by(DocumentTally.unit_id, DocumentTally.kind, DocumentTally.status)
    )
    return {(unit, kind, status): (int(n), int(c), int(b)) for unit, kind, status, n, c, b in rows.all() if n or c or b}


async def counted(session: AsyncSession, org_id: UUID) -> dict[Key, tuple[int, int, int]]:
    rows = await session.execute(
        select(
            Record.unit_id,
            Document.kind,
            Document.status,
            func.count(),
            func.coalesce(func.sum(Document.chunk_count), 0),
            func.sum(Document.size_bytes),
        )
        .select_from(Document)
        .outerjoin(Record, Record.document_id == Document.id)
        .where(Document.org_id == org_id)
        .group_by(Record.unit_id, Document.kind, Document.status)
    )
    return {(unit, kind, status): (int(n), int(c or 0), int(b)) for unit, kind, status, n, c, b in rows.all()}


async def add_documents(session: AsyncSession, org_id: UUID, rng: random.Random, units: list[UUID], count: int) -> None:
    documents, records = [], []
    for _ in range(count):
        document_id, kind = new_id(), rng.choice(("record", "record", "pdf", "text"))
        documents.append(
            {
                "id": document_id,
                "org_id": org_id,
                "title": "t",
                "filename": "f",
                "kind": kind,
                "status": rng.choice(STATUSES),
                "size_bytes": rng.randrange(1, 10_000),
                "sha256": "0" * 64,
                "chunk_count": rng.choice((None, rng.randrange(0, 40))),
            }
        )
        if kind == "record" and rng.random() < 0.9:
            unit = rng.choice([*units, None])
            records.append(
                {"document_id": document_id, "org_id": org_id, "number": rng.randrange(10**9), "unit_id": unit}
            )
    await session.execute(insert(Document), documents)
    if records:
        await session.execute(insert(Record), records)


async def test_tallies_follow_every_kind_of_write(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register(client)
    org_id, rng = account.org_id, random.Random(15)
    async with app.state.sessionmaker() as session, session.begin():
        units = [new_id() for _ in range(3)]
        for number, unit_id in enumerate(units):
            session.add(BusinessUnit(id=unit_id, org_id=org_id, name=f"Unit {number}"))
    for step in range(40):
        async with app.state.sessionmaker() as session, session.begin():
            ids = list(await session.scalars(select(Document.id).where(Document.org_id == org_id)))
            case_ids = list(await session.scalars(select(Record.document_id).where(Record.org_id == org_id)))
            some = rng.sample(ids, min(len(ids), rng.randrange(1, 30))) if ids else []
            cases = rng.sample(case_ids, min(len(case_ids), rng.randrange(1, 20))) if case_ids else []
            action = rng.choice(("add", "add", "status", "chunks", "move", "delete", "uncase", "touch"))
            if action == "add" or not ids:
                await add_documents(session, org_id, rng, units, rng.randrange(1, 25))
            elif action == "status":
                status = rng.choice(STATUSES)
                await session.execute(update(Document).where(Document.id.in_(some)).values(status=status))
            elif action == "chunks":
                chunks = Document.chunk_count + rng.randrange(1, 5)
                await session.execute(update(Document).where(Document.id.in_(some)).values(chunk_count=chunks))
            elif action == "move" and cases:
                unit = rng.choice([*units, None])
                await session.execute(update(Record).where(Record.document_id.in_(cases)).values(unit_id=unit))
                await session.execute(update(Document).where(Document.id.in_(some)).values(status="ready"))
            elif action == "delete":
                await session.execute(delete(Document).where(Document.id.in_(some)))
            elif action == "uncase" and cases:
                await session.execute(delete(Record).where(Record.document_id.in_(cases)))
            else:
                await session.execute(update(Document).where(Document.id.in_(some)).values(title=f"step {step}"))
        if step == 30:
            # A unit deleted: its cases fall to no unit (ON DELETE SET NULL), and their documents with them.
            async with app.state.sessionmaker() as session, session.begin():
                await session.execute(delete(BusinessUnit).where(BusinessUnit.id == units.pop()))
        async with app.state.sessionmaker() as session:
            assert await tallied(session, org_id) == await counted(session, org_id), f"after step {step}: {action}"


async def test_folding_keeps_the_sums_in_one_row_each(app: FastAPI, client: httpx.AsyncClient) -> None:
    account = await register(client)
    rng = random.Random(7)
    for _ in range(5):
        async with app.state.sessionmaker() as session, session.begin():
            await add_documents(session, account.org_id, rng, [], 10)
            await session.execute(update(Document).where(Document.org_id == account.org_id).values(status="ready"))
    async with app.state.sessionmaker() as session, session.begin():
        before = await tallied(session, account.org_id)
        assert await session.scalar(text("SELECT compact_document_tallies()")) > 0
    async with app.state.sessionmaker() as session:
        assert await tallied(session, account.org_id) == before == await counted(session, account.org_id)
        keys = (
            await session.execute(
                select(DocumentTally.unit_id, DocumentTally.kind, DocumentTally.status, DocumentTally.documents).where(
                    DocumentTally.org_id == account.org_id
                )
            )
        ).all()
    assert max(Counter(key[:3] for key in keys).values()) == 1
    assert all(row.documents != 0 for row in keys)
    # Run by the scheduler.
    periodics, handlers = periodic_work(make_settings("postgresql+asyncpg://unused/db"), app.state.storage)
    assert COMPACT_TALLIES in handlers
    assert COMPACT_TALLIES in {periodic.kind for periodic in periodics}


async def test_a_case_moved_while_its_document_changes_counts_once_in_its_new_unit(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account = await register(client)
    north, south = new_id(), new_id()
    async with app.state.sessionmaker() as session, session.begin():
        session.add_all(
            [
                BusinessUnit(id=north, org_id=account.org_id, name="North"),
                BusinessUnit(id=south, org_id=account.org_id, name="South"),
            ]
        )
    async with app.state.sessionmaker() as session, session.begin():
        await add_documents(session, account.org_id, random.Random(3), [north], 1)
        case_id = await session.scalar(select(Record.document_id).where(Record.org_id == account.org_id))
        await session.execute(update(Record).where(Record.document_id == case_id).values(unit_id=north))
        await session.execute(update(Document).where(Document.id == case_id).values(status="processing"))

    async def index_meanwhile() -> None:
        async with app.state.sessionmaker() as session, session.begin():
            await session.execute(update(Document).where(Document.id == case_id).values(status="ready"))

    async with app.state.sessionmaker() as mover, mover.begin():
        await mover.execute(update(Record).where(Record.document_id == case_id).values(unit_id=south))
        indexing = asyncio.create_task(index_meanwhile())
        await asyncio.sleep(0.5)
        # The document's change waits for the move: counting it now would count it in the unit it leaves.
        assert not indexing.done()
    await indexing
    async with app.state.sessionmaker() as session:
        truth = await counted(session, account.org_id)
        assert await tallied(session, account.org_id) == truth
    assert [key for key in truth if key[1] == "record"] == [(south, "record", "ready")]
