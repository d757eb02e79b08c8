"""One embedded PostgreSQL per test session, migrated once; every test starts from empty tables."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from folio.db import Base, table, to_async_url
from folio.embedded_postgres import EmbeddedPostgres
from folio.main import create_app
from folio.models import EnrichmentSchema, PromptTemplate
from folio.settings import Settings

# Random (64 hex digits), so production settings accept it too.
TEST_JWT_SECRET = "ad946e5997a9f590281e0e657389c45332edc85dfa94cd6942472f7cab63de1b"
# A fixed Fernet key (32 bytes, url-safe base64), so settings of any environment accept it.
TEST_ENCRYPTION_KEY = "dGVzdC1lbmNyeXB0aW9uLWtleS1mb3ItZm9saW8tMzI="
# Uploaded files of every test app of this session; removed when the session ends.
TEST_DATA_DIR = Path(tempfile.gettempdir()) / f"folio-test-data-{os.getpid()}"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for an app under test: hermetic (no .env), rate limits off unless a test turns them on."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": str(TEST_DATA_DIR),
        "auth": {"jwt_secret": TEST_JWT_SECRET},
        "encryption_keys": TEST_ENCRYPTION_KEY,
        "rate_limit": {"enabled": False},
        "log": {"level": "WARNING"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    external = os.environ.get("FOLIO_TEST_DATABASE_URL")
    if external:
        yield external
        return
    root = Path(tempfile.mkdtemp(prefix="folio-test-"))
    server = EmbeddedPostgres(root / "pg")
    try:
        yield server.url
    finally:
        server.release()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(TEST_DATA_DIR, ignore_errors=True)


@asynccontextmanager
async def new_database(database_url: str) -> AsyncIterator[str]:
    """A new empty database on the test server (the app migrates it), dropped afterwards."""
    name = f"folio_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(to_async_url(database_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    base, _, query = database_url.partition("?")
    try:
        yield f"{base.rsplit('/', 1)[0]}/{name}?{query}"
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture(scope="module")
async def separate_database_url(database_url: str) -> AsyncIterator[str]:
    """A database of the module's own, for a module whose jobs must not meet the session app's reaper (which would
    run them, or their retries, with the session app's settings and handlers)."""
    async with new_database(database_url) as url:
        yield url


@pytest.fixture
async def own_database_url(database_url: str) -> AsyncIterator[str]:
    """A database of the test's own: like `separate_database_url`, and no job of an earlier test is left in it."""
    async with new_database(database_url) as url:
        yield url


@pytest.fixture(scope="session")
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(autouse=True)
async def _empty_tables(app: FastAPI) -> AsyncIterator[None]:
    yield
    await empty_tables(app)


async def empty_tables(app: FastAPI) -> None:
    """Every table emptied, except for the rows the migrations seed (built-in prompt templates and enrichment
    schemas: the rows without an organization)."""
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    seeded = [table(PromptTemplate), table(EnrichmentSchema)]
    # The app's reaper and periodic jobs keep running meanwhile; when PostgreSQL breaks a deadlock between one of
    # them and the TRUNCATE by failing the TRUNCATE, it is tried again.
    for attempt in range(5):
        try:
            async with app.state.engine.begin() as connection:
                builtin = [
                    (
                        each,
                        [
                            row._asdict()
                            for row in await connection.execute(each.select().where(each.c.org_id.is_(None)))
                        ],
                    )
                    for each in seeded
                ]
                # The audit log's triggers refuse TRUNCATE to the application; a superuser's replica role skips them.
                await connection.execute(text("SET LOCAL session_replication_role = replica"))
                await connection.execute(text(f"TRUNCATE {tables} CASCADE"))
                for each, rows in builtin:
                    await connection.execute(each.insert(), rows)
            return
        except DBAPIError as error:
            if "deadlock" not in str(error) or attempt == 4:
                raise


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        yield http


AppFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app_factory(database_url: str) -> AppFactory:
    """A client on a fresh app with its own settings (same database), for rate limits, Redis, health."""

    @asynccontextmanager
    async def factory(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        application = create_app(make_settings(database_url, **overrides))
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http,
        ):
            yield http

    return factory
