"""Keyset pagination over time-ordered UUIDv7 keys: `limit` + an opaque `cursor`, never skipping or repeating."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, TypeVarTuple, cast
from uuid import UUID

from pydantic import BaseModel, Field
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from folio.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# A key's 16 bytes in URL-safe base64 without padding: safe in a URL unencoded, and one spelling per key.
_CURSOR = re.compile(r"[A-Za-z0-9_-]{22}")
# What `from_cursor` accepts, as a JSON Schema pattern: 22 characters whose last carries 2 bits and 4 zeros.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{21}[AQgw]$"


class InvalidCursor(ValidationFailed):
    """The pagination cursor was not issued by this API (or was altered)."""

    code = "INVALID_CURSOR"
    message = "The cursor is invalid."


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    after: UUID | None = None

    @classmethod
    def from_cursor(cls, limit: int, cursor: str | None) -> PageRequest:
        if cursor is None:
            return cls(limit=limit)
        # Checked strictly: the decoder would skip characters outside the alphabet, accept padding and the
        # standard alphabet, and ignore a last character's unused bits, so an altered cursor could still pass.
        if not _CURSOR.fullmatch(cursor):
            raise InvalidCursor()
        after = UUID(bytes=base64.urlsafe_b64decode(cursor + "=="))
        if encode_cursor(after) != cursor:
            raise InvalidCursor()
        return cls(limit=limit, after=after)


def encode_cursor(key: UUID) -> str:
    return base64.urlsafe_b64encode(key.bytes).decode().rstrip("=")


T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
M = TypeVar("M")
Ts = TypeVarTuple("Ts")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


@dataclass(frozen=True, slots=True)
class Paged(Generic[T_co]):
    """A page as a repository returns it: models (or tuples of them), and the cursor of the next page."""

    items: Sequence[T_co]
    next_cursor: str | None

    def to_page(self, read: Callable[[T_co], T]) -> Page[T]:
        """The response: each item turned into what the API shows of it."""
        return Page(items=[read(item) for item in self.items], next_cursor=self.next_cursor)


async def keyset(
    session: AsyncSession,
    statement: Select[*tuple[Any, ...]],
    key: InstrumentedAttribute[UUID],
    page: PageRequest,
) -> tuple[Sequence[Any], str | None]:
    """Rows after the cursor in key order, and the cursor of the next page (None when this is the last).

    Each row also carries the key as its last column, `page_key`.
    """
    if page.after is not None:
        statement = statement.where(key > page.after)
    statement = statement.add_columns(key.label("page_key")).order_by(key).limit(page.limit + 1)
    rows = (await session.execute(statement)).all()
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, encode_cursor(rows[-1].page_key)


async def paged(
    session: AsyncSession, statement: Select[M], key: InstrumentedAttribute[UUID], page: PageRequest
) -> Paged[M]:
    """`keyset` over a statement of one model (or column): the models themselves."""
    rows, next_cursor = await keyset(session, statement, key, page)
    return Paged([row[0] for row in rows], next_cursor)


async def newest_first_rows(
    session: AsyncSession,
    statement: Select[*Ts],
    key: InstrumentedAttribute[int] | InstrumentedAttribute[UUID],
    page: PageRequest,
) -> Paged[tuple[*Ts]]:
    """Rows newest first by a key that grows with time (a UUIDv7 id, or an append-only log's integer id), one tuple
    per row. The cursor is the last key shown (an integer rides in the cursor's 16 bytes); the next page holds older
    rows."""
    integer = key.type.python_type is int
    if page.after is not None:
        # An integer key is a bigint: a cursor past the largest one reads from the newest row, as it says.
        after = min(page.after.int, 2**63 - 1) if integer else page.after
        statement = statement.where(key < after)
    statement = statement.add_columns(key.label("page_key")).order_by(key.desc()).limit(page.limit + 1)
    rows = (await session.execute(statement)).all()
    items = [cast("tuple[*Ts]", tuple(row)[:-1]) for row in rows[: page.limit]]
    if len(rows) <= page.limit:
        return Paged(items, None)
    last = rows[page.limit - 1].page_key
    return Paged(items, encode_cursor(UUID(int=last) if integer else last))


async def newest_first(
    session: AsyncSession,
    statement: Select[M],
    key: InstrumentedAttribute[int] | InstrumentedAttribute[UUID],
    page: PageRequest,
) -> Paged[M]:
    """`newest_first_rows` over a statement of one model: the models themselves."""
    found = await newest_first_rows(session, statement, key, page)
    return Paged([row[0] for row in found.items], found.next_cursor)


async def paged_rows(
    session: AsyncSession, statement: Select[*Ts], key: InstrumentedAttribute[UUID], page: PageRequest
) -> Paged[tuple[*Ts]]:
    """`keyset` over a statement of several models (or columns): one tuple of them per row."""
    rows, next_cursor = await keyset(session, statement, key, page)
    return Paged([cast("tuple[*Ts]", tuple(row)[:-1]) for row in rows], next_cursor)
