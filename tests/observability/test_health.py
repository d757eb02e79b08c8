"""Liveness and readiness: the database, its migrations and (when configured) Redis."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from folio.main import create_app
from folio.migrate import head_revision
from tests.conftest import AppFactory
from tests.conftest import make_settings as make_settings

REDIS_URL = os.environ.get("FOLIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
UNREACHABLE_REDIS_URL = "redis://127.0.0.1:1/0"
UNMIGRATED_DATABASE = "folio_unmigrated"


async def test_live(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_ready_checks_database_and_migrations(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["migrations"]["status"] == "ok"
    # Without a Redis URL there is no Redis to check.
    assert "redis" not in body["checks"]


async def _execute_autocommit(app: FastAPI, statement: str) -> None:
    async with app.state.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(statement))


@pytest.fixture
async def unmigrated_database_url(app: FastAPI, database_url: str) -> AsyncIterator[str]:
    """An empty database on the same server, dropped afterwards."""
    await _execute_autocommit(app, f"DROP DATABASE IF EXISTS {UNMIGRATED_DATABASE} WITH (FORCE)")
    await _execute_autocommit(app, f"CREATE DATABASE {UNMIGRATED_DATABASE}")
    try:
        yield urlsplit(database_url)._replace(path=f"/{UNMIGRATED_DATABASE}").geturl()
    finally:
        await _execute_autocommit(app, f"DROP DATABASE IF EXISTS {UNMIGRATED_DATABASE} WITH (FORCE)")


async def test_ready_is_503_when_migrations_are_not_at_head(unmigrated_database_url: str) -> None:
    application = create_app(make_settings(unmigrated_database_url, db={"migrate_on_start": False}))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        live = await http.get("/health/live")
        ready = await http.get("/health/ready")
        # The app really runs on the empty database: it has no tables.
        async with application.state.engine.connect() as connection:
            tables = await connection.scalar(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            )
    assert tables == 0
    assert live.status_code == 200
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["status"] == "failing"
    assert body["checks"]["database"] == {"status": "ok", "detail": None}
    migrations = body["checks"]["migrations"]
    assert migrations["status"] == "failing"
    head = head_revision()
    assert head is not None
    assert head in migrations["detail"]
    assert "folio migrate" in migrations["detail"]


async def test_ready_is_503_when_redis_is_unreachable(app_factory: AppFactory) -> None:
    async with app_factory(redis_url=UNREACHABLE_REDIS_URL) as unreachable:
        response = await unreachable.get("/health/ready")
        live = await unreachable.get("/health/live")
    assert live.status_code == 200
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["migrations"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "failing"
    assert body["checks"]["redis"]["detail"]


async def test_ready_checks_a_reachable_redis(app_factory: AppFactory) -> None:
    async with app_factory(redis_url=REDIS_URL) as with_redis:
        response = await with_redis.get("/health/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["redis"] == {"status": "ok", "detail": None}
    assert set(body["checks"]) == {"database", "migrations", "redis", "storage", "capacity"}
