"""Engine, session factory and the declarative base."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import DateTime, Enum, MetaData, Table, event, func
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool
from uuid6 import uuid7

from folio.effects import OUTLETS, FolioSession
from folio.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}
    # Server-made values (updated_at, defaults) come back with RETURNING: with async I/O they cannot load lazily.
    __mapper_args__ = {"eager_defaults": True}


def table(model: type[Base]) -> Table:
    """The Core table of a model, for statements that write many rows by column name."""
    return Base.metadata.tables[model.__tablename__]


def new_id() -> UUID:
    """Time-ordered UUIDv7, so primary keys sort by creation and serve as pagination keys."""
    return UUID(bytes=uuid7().bytes)


def text_enum(enum: type[StrEnum], name: str) -> Enum:
    """A VARCHAR holding the enum's values, checked by a constraint: new values need no ALTER TYPE."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )


class IdMixin:
    id: Mapped[UUID] = mapped_column(primary_key=True, default=new_id)


class CreatedAtMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


def to_async_url(url: str) -> str:
    """Accept plain `postgresql://` URLs (as libpq and pgserver print them) and select asyncpg."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    raise ValueError(f"not a PostgreSQL URL: {url.split('://')[0]}://…")


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    engine = create_async_engine(
        to_async_url(url),
        pool_size=settings.db.pool_size,
        max_overflow=settings.db.max_overflow,
        pool_timeout=settings.db.pool_timeout_seconds,
        echo=settings.db.echo,
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(_: object, record: ConnectionPoolEntry, __: object) -> None:
    """A pooled connection the server closed (a restart, a terminated backend) is replaced as it is lent, before
    any statement: the pool tries again with a new one. The event loop has seen its socket close, so no round trip
    is needed to know, where `pool_pre_ping` paid one on every checkout."""
    connection = record.driver_connection
    if connection is not None and connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def create_sessionmaker(engine: AsyncEngine, outlets: dict[str, Any] | None = None) -> async_sessionmaker[AsyncSession]:
    """Sessions that run after-commit effects (`folio.effects`); `outlets` are the per-process services those
    effects reach, such as the job queue and the event bus. The dict is shared, so services started later can be
    added to it."""
    return async_sessionmaker(
        engine, class_=FolioSession, expire_on_commit=False, info={OUTLETS: {} if outlets is None else outlets}
    )


async def release(session: AsyncSession) -> None:
    """Commit the work so far and give the connection back to the pool before slow work: a model call, an
    embedding, password hashing, extraction, outbound HTTP. The next statement takes a connection again, in a new
    transaction, so a slow call never holds one of the pool's few connections."""
    await session.commit()


def spare_connections(session: AsyncSession) -> int:
    """Connections the session's pool can lend at once, without anyone waiting (open and idle, or yet to open)."""
    assert session.bind is not None  # noqa: S101 — every session of ours is made by create_sessionmaker
    pool = session.bind.sync_engine.pool
    if not isinstance(pool, QueuePool):
        return 1
    # `overflow()` counts the connections open beyond pool_size (negative while fewer are open).
    return pool.checkedin() + pool._max_overflow - pool.overflow()
