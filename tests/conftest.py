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
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from fastapi import FastAPI
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import exists, literal, select, text, union_all
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from folio.auth import passwords
from folio.db import Base, table, to_async_url
from folio.embedded_postgres import EmbeddedPostgres
from folio.main import create_app
from folio.models import EnrichmentSchema, PromptTemplate
from folio.settings import Settings

# Random (64 hex digits), so production settings accept it too.
TEST_JWT_SECRET = "ad946e5997a9f590281e0e657389c45332edc85dfa94cd6942472f7cab63de1b"
# A fixed Fernet key (32 bytes, url-safe base64), so settings of any environment accept it.
TEST_ENCRYPTION_KEY = "dGVzdC1lbmNyeXB0aW9uLWtleS1mb3ItZm9saW8tMzI="
# Uploaded files of every test app of this session; removed when the session ends. Per process, so each
# pytest-xdist worker has its own (as it has its own embedded PostgreSQL: see `database_url`).
TEST_DATA_DIR = Path(tempfile.gettempdir()) / f"folio-test-data-{os.getpid()}"


def _worker_redis_url(url: str, worker: str | None) -> str:
    """The Redis database of this pytest-xdist worker: `url`'s own for gw0 (and without xdist), the next lower
    index for gw1, and so on. Workers must not share one: tests empty theirs with FLUSHDB and use fixed keys such
    as the job stream."""
    if not worker:
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    index = base - int(worker.removeprefix("gw"))
    if index < 0:
        raise pytest.UsageError(
            f"FOLIO_TEST_REDIS_URL names database {base}, which leaves none for xdist worker {worker}: "
            "name a higher database (the default is 15) or run fewer workers"
        )
    return urlunsplit(parts._replace(path=f"/{index}"))


_REDIS_URL = os.environ.get("FOLIO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Test modules read FOLIO_TEST_REDIS_URL when they are imported, after this file.
TEST_REDIS_URL = _worker_redis_url(_REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER"))
os.environ["FOLIO_TEST_REDIS_URL"] = TEST_REDIS_URL


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: a worker per CPU this process may run on (xdist would count physical cores), and no more workers
    than Redis databases from FOLIO_TEST_REDIS_URL's down to 0."""
    return min(len(os.sched_getaffinity(0)), int(urlsplit(_REDIS_URL).path.strip("/") or 0) + 1)


# Argon2 at its production cost (64 MiB, 3 passes, 4 lanes: ~0.17 s of CPU) was about a quarter of the suite's CPU
# time, paid by every registration and login. The apps of this process hash with argon2id at its lowest cost
# instead, through the same functions (a worker thread, one hash per core at once). The production parameters
# still run in every `folio` child process (tests/test_e2e.py, tests/cli/, tests/test_attacks.py) and in
# tests/auth/test_passwords.py, which puts these back.
PRODUCTION_PASSWORD_HASHING = (passwords._hasher, passwords._DUMMY_HASH)
_CHEAP_HASHER = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_hasher", _CHEAP_HASHER)
        patch.setattr(passwords, "_DUMMY_HASH", _CHEAP_HASHER.hash("folio-timing-equaliser"))
        yield


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
async def database_url() -> AsyncIterator[str]:
    external = os.environ.get("FOLIO_TEST_DATABASE_URL")
    if external:
        # Tests empty every table after themselves: each pytest-xdist worker needs a database of its own there.
        async with new_database(external) as url:
            yield url
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
    schemas: the rows without an organization).

    Only the tables that hold a row are emptied, with DELETE: a test fills a few of them, and a TRUNCATE of every
    table took ~0.2 s of the server's time after each test (it cannot leave out the tables that reference a
    truncated one, and nearly all of them reference organizations)."""
    tables = Base.metadata.sorted_tables
    seeded = {table(PromptTemplate), table(EnrichmentSchema)}
    filled_probe = union_all(
        *(select(literal(index)).where(exists().select_from(each)) for index, each in enumerate(tables))
    )
    # The app's reaper and periodic jobs keep running meanwhile; when PostgreSQL breaks a deadlock between one of
    # them and the DELETEs by failing a DELETE, it is tried again.
    for attempt in range(5):
        try:
            async with app.state.engine.begin() as connection:
                # The replica role skips triggers: the audit log's, which refuse DELETE to the application, and the
                # foreign keys' (every row goes, so the order of the tables does not matter).
                await connection.execute(text("SET LOCAL session_replication_role = replica"))
                filled = [tables[index] for index in (await connection.execute(filled_probe)).scalars()]
                for each in reversed(filled):
                    statement = each.delete()
                    if each in seeded:
                        statement = statement.where(each.c.org_id.is_not(None))
                    await connection.execute(statement)
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
