"""The database keeps the audit log append-only, even against SQL from the application's own role: UPDATE,
TRUNCATE and DELETE of a recent entry fail; retention deletes old entries, never recent ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from folio.audit.repository import delete_entries_before
from folio.jobs.kinds import PRUNE_AUDIT_LOG
from folio.models import JobStatus
from tests.conftest import make_settings
from tests.jobs.test_schedule import run_periodic

_INSERT = text(
    "INSERT INTO audit_log (org_id, action, actor_type, created_at) "
    "VALUES (:org_id, 'auth.login', 'system', :created_at) RETURNING id"
)


async def insert(app: FastAPI, org_id: UUID, age: timedelta = timedelta(0)) -> int:
    """An entry written by the application's role (the database stamps its time)."""
    async with app.state.engine.begin() as connection:
        entry_id: int = await connection.scalar(_INSERT, {"org_id": org_id, "created_at": datetime.now(UTC) - age})
    return entry_id


async def insert_backdated(app: FastAPI, org_id: UUID, age: timedelta) -> int:
    """An entry of the past, for retention tests: only a superuser's replica role (which skips triggers) can write
    one, so the path does not exist for the application."""
    async with app.state.engine.begin() as connection:
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        entry_id: int = await connection.scalar(_INSERT, {"org_id": org_id, "created_at": datetime.now(UTC) - age})
    return entry_id


async def ids(app: FastAPI) -> list[int]:
    async with app.state.engine.connect() as connection:
        return list((await connection.scalars(text("SELECT id FROM audit_log ORDER BY id"))).all())


@pytest.fixture
def org_id() -> UUID:
    return uuid4()  # no foreign key: an entry outlives its organization


async def refused(app: FastAPI, statement: str, **parameters: object) -> str:
    with pytest.raises(DBAPIError) as caught:
        async with app.state.engine.begin() as connection:
            await connection.execute(text(statement), parameters)
    return str(caught.value)


async def test_update_is_refused(app: FastAPI, org_id: UUID) -> None:
    entry_id = await insert(app, org_id)
    message = await refused(app, "UPDATE audit_log SET action = 'nothing' WHERE id = :id", id=entry_id)
    assert "append-only" in message
    assert "append-only" in await refused(app, "UPDATE audit_log SET action = 'nothing' WHERE false")
    async with app.state.engine.connect() as connection:
        assert await connection.scalar(text("SELECT action FROM audit_log WHERE id = :id"), {"id": entry_id}) == (
            "auth.login"
        )


async def test_delete_of_a_recent_entry_is_refused(app: FastAPI, org_id: UUID) -> None:
    entry_id = await insert(app, org_id)
    assert "younger than 30 days" in await refused(app, "DELETE FROM audit_log WHERE id = :id", id=entry_id)
    assert "younger than 30 days" in await refused(app, "DELETE FROM audit_log")
    assert await ids(app) == [entry_id]


async def test_truncate_is_refused(app: FastAPI, org_id: UUID) -> None:
    entry_id = await insert(app, org_id)
    assert "append-only" in await refused(app, "TRUNCATE audit_log")
    assert await ids(app) == [entry_id]


async def test_an_entry_cannot_be_written_as_older_than_it_is(app: FastAPI, org_id: UUID) -> None:
    entry_id = await insert(app, org_id, age=timedelta(days=400))
    async with app.state.engine.connect() as connection:
        created_at = await connection.scalar(text("SELECT created_at FROM audit_log WHERE id = :id"), {"id": entry_id})
    assert created_at > datetime.now(UTC) - timedelta(minutes=1)
    assert "younger than 30 days" in await refused(app, "DELETE FROM audit_log WHERE id = :id", id=entry_id)


async def test_an_entry_past_the_floor_may_be_deleted(app: FastAPI, org_id: UUID) -> None:
    old = await insert_backdated(app, org_id, timedelta(days=31))
    async with app.state.engine.begin() as connection:
        await connection.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": old})
    assert await ids(app) == []


async def test_the_retention_job_deletes_only_entries_past_retention(app: FastAPI, org_id: UUID) -> None:
    expired = await insert_backdated(app, org_id, timedelta(days=400))
    kept = await insert_backdated(app, org_id, timedelta(days=100))  # within the default 365 days
    recent = await insert(app, org_id)

    job = await run_periodic(app, PRUNE_AUDIT_LOG)

    assert job.status is JobStatus.SUCCEEDED, job.error_message
    assert await ids(app) == [kept, recent]
    assert expired not in await ids(app)


async def test_pruning_never_reaches_under_the_floor_whatever_the_cutoff(app: FastAPI, org_id: UUID) -> None:
    """A cutoff later than the floor (a clock ahead of the database's) deletes what is past the floor and stops
    there instead of failing the step."""
    old = await insert_backdated(app, org_id, timedelta(days=31))
    young = await insert_backdated(app, org_id, timedelta(days=29))
    recent = await insert(app, org_id)
    async with app.state.sessionmaker() as session, session.begin():
        deleted = await delete_entries_before(session, datetime.now(UTC) + timedelta(days=1), 100)
    assert deleted == 1
    assert await ids(app) == [young, recent]
    assert old not in await ids(app)


def test_retention_cannot_be_set_below_the_floor(database_url: str) -> None:
    with pytest.raises(ValidationError):
        make_settings(database_url, audit={"retention_days": 29})
    assert make_settings(database_url, audit={"retention_days": 30}).audit.retention_days == 30
    assert make_settings(database_url).audit.retention_days == 365
