"""The migrations and the models describe the same schema, and migrations run down and up cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from folio.db import Base, to_async_url
from folio.migrate import alembic_config, database_revision, head_revision, upgrade_to_head

PUBLIC_TABLES = text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")


@pytest.fixture
async def scratch_engine(app: FastAPI, database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a new, empty database of the test server."""
    admin = create_async_engine(to_async_url(database_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text("DROP DATABASE IF EXISTS folio_migrations"))
        await connection.execute(text("CREATE DATABASE folio_migrations"))
    base, _, query = database_url.partition("?")
    engine = create_async_engine(to_async_url(f"{base.rsplit('/', 1)[0]}/folio_migrations?{query}"))
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as connection:
            await connection.execute(text("DROP DATABASE folio_migrations"))
        await admin.dispose()


async def test_models_match_migrations(app: FastAPI) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with app.state.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_upgrade_creates_extensions_and_tables_then_downgrades_and_upgrades(
    scratch_engine: AsyncEngine,
) -> None:
    await upgrade_to_head(scratch_engine)
    async with scratch_engine.connect() as connection:
        assert await database_revision(connection) == head_revision()
        extensions = set((await connection.scalars(text("SELECT extname FROM pg_extension"))).all())
        assert {"vector", "pg_trgm"} <= extensions
        tables = set((await connection.scalars(PUBLIC_TABLES)).all())
        assert {table.name for table in Base.metadata.sorted_tables} <= tables

    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "base")

    async with scratch_engine.begin() as connection:
        await connection.run_sync(downgrade)
    async with scratch_engine.connect() as connection:
        tables = set((await connection.scalars(PUBLIC_TABLES)).all())
        assert tables & {table.name for table in Base.metadata.sorted_tables} == set()

    await upgrade_to_head(scratch_engine)
    await upgrade_to_head(scratch_engine)  # a second run at head is a no-op
    async with scratch_engine.connect() as connection:
        assert await database_revision(connection) == head_revision()


def test_migration_files_follow_the_naming_rule() -> None:
    from folio.migrate import MIGRATIONS_DIR

    names = [path.name for path in (MIGRATIONS_DIR / "versions").glob("*.py")]
    assert names
    assert all(name[:4].isdigit() and name[4] == "-" and name[10] == "_" for name in names), names


async def test_concurrent_upgrades_queue_on_the_advisory_lock(scratch_engine: AsyncEngine) -> None:
    """Several API workers migrate at start-up; without the lock their CREATE TABLEs would collide."""
    other = create_async_engine(scratch_engine.url)
    try:
        async with asyncio.timeout(60):
            await asyncio.gather(upgrade_to_head(scratch_engine), upgrade_to_head(other))
    finally:
        await other.dispose()
    async with scratch_engine.connect() as connection:
        assert await database_revision(connection) == head_revision()
