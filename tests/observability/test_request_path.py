"""What a request costs below the routes: its session commits only what there is to commit, a pooled connection
the server closed is replaced before it is used (without a round trip per checkout to find out), and start-up's
objects stay out of the garbage collector's full collections while the app runs."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from folio.db import to_async_url
from folio.deps import get_session
from folio.effects import after_commit
from tests.apps import QUIET, idle, serve
from tests.conftest import AppFactory
from tests.factories import register


async def run_request_session(app: FastAPI, work: Any) -> list[str]:
    """`get_session` as FastAPI runs it for a request whose endpoint does `work(session)`; the commits made."""
    commits: list[str] = []
    sessions = get_session(SimpleNamespace(app=app))  # type: ignore[arg-type]  # it reads only `.app`
    session: AsyncSession = await anext(sessions)
    commit = session.commit

    async def counted_commit() -> None:
        commits.append("commit")
        await commit()

    session.commit = counted_commit  # type: ignore[method-assign]
    await work(session)
    with pytest.raises(StopAsyncIteration):
        await anext(sessions)
    return commits


async def test_a_session_that_did_nothing_commits_nothing(app: FastAPI) -> None:
    async def nothing(_: AsyncSession) -> None:
        return None

    assert await run_request_session(app, nothing) == []


async def test_a_session_that_read_commits(app: FastAPI) -> None:
    async def read(session: AsyncSession) -> None:
        await session.execute(text("SELECT 1"))

    assert await run_request_session(app, read) == ["commit"]


async def test_effects_queued_without_a_statement_still_run(app: FastAPI) -> None:
    ran: list[str] = []

    async def effect() -> None:
        ran.append("effect")

    async def queue(session: AsyncSession) -> None:
        after_commit(session, effect)

    assert await run_request_session(app, queue) == ["commit"]
    assert ran == ["effect"]


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app whose pool holds a single connection, so the next request must take the one the test closes."""
    async with serve(database_url, db={"pool_size": 1, "max_overflow": 0}, **QUIET) as (application, client):
        await idle(application)
        yield application, client


async def test_a_connection_the_server_closed_is_replaced_before_use(
    one_connection: tuple[FastAPI, httpx.AsyncClient], database_url: str
) -> None:
    app, client = one_connection
    lent: list[Any] = []
    pool = app.state.engine.sync_engine.pool

    def checked_out(_: Any, record: Any, __: Any) -> None:
        lent.append(record.driver_connection)

    event.listen(pool, "checkout", checked_out)
    try:
        account = await register(client)
    finally:
        event.remove(pool, "checkout", checked_out)
    connection = lent[-1]
    admin = create_async_engine(to_async_url(database_url))
    try:
        async with admin.connect() as terminating:
            await terminating.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": connection.get_server_pid()})
    finally:
        await admin.dispose()
    async with asyncio.timeout(10):
        while True:  # until the event loop has read the server's goodbye
            if connection.is_closed():
                break
            await asyncio.sleep(0.01)

    renamed = await client.patch(f"/api/v1/orgs/{account.org_id}", json={"name": "Still here"}, headers=account.headers)

    assert renamed.status_code == 200, renamed.text


async def test_start_up_objects_are_frozen_while_the_app_runs(app_factory: AppFactory) -> None:
    async with app_factory(**QUIET) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert gc.get_freeze_count() > 0

    assert gc.get_freeze_count() == 0
