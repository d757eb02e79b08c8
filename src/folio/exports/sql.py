"""How an export reads a page: the columns of a source as SQL, the CSV line the database writes from them, and a
keyset page bounded in rows and in bytes of text.

Rows come in one of two shapes. As *lines* (CSV), the database writes each row's CSV line itself, quoted and
neutralised (`folio.exports.formats`), in its own process while this one sends the previous page: this process
only joins lines. As *values* (JSON Lines, Markdown, XLSX), times and ids are ISO 8601 and UUID text, booleans and
numbers keep their type, and JSON comes as `Json`.

A page holds at most `Bounds.rows` rows and ends early once its rows carry more than `Bounds.budget` bytes of text
(the first row always comes), so that a page of long case texts takes no more memory than a page of short ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from folio.exports.formats import FORMULA_STARTS, Json, Row

# Labels of the columns a page statement adds (never exported under these names).
_KEY = "page_key"
_SIZE = "page_size"
_RUNNING = "page_running"


class Shape(Enum):
    LINES = "lines"
    VALUES = "values"


@dataclass(frozen=True, slots=True)
class Page:
    # CSV lines (str) or rows of values, by the reader's shape.
    rows: list[Any]
    # The key to read on after; None: this was the last page.
    after: Any


@dataclass(frozen=True, slots=True)
class Bounds:
    rows: int
    budget: int


@dataclass(frozen=True, slots=True)
class Column:
    """An exported column. `bare`: its text never holds a separator, a quote or a line break, nor starts a formula
    (ids, times, states, numbers, booleans), so CSV writes it as it is; any other text is quoted and neutralised.
    `json`: JSON text, copied into JSON Lines as JSON."""

    name: str
    sql: ColumnElement[Any] | InstrumentedAttribute[Any]
    bare: bool = False
    json: bool = False

    def text(self) -> ColumnElement[str]:
        """The column in a CSV line."""
        text = cast(self.sql, Text)
        if self.bare:
            return func.coalesce(text, "")
        quoted = '"' + func.replace(neutralised(text), '"', '""') + '"'
        return func.coalesce(quoted, "")


# The characters as SQL literals rather than bound values: a list of bound values is expanded anew at every
# execution, for every text column.
_FORMULA_LITERALS: list[ColumnElement[str]] = [
    literal_column("'" + character + "'") for character in sorted(FORMULA_STARTS)
]


def neutralised(text: ColumnElement[str]) -> ColumnElement[str]:
    """`folio.exports.formats.neutralised` in SQL."""
    return case((func.left(text, 1).in_(_FORMULA_LITERALS), "'" + text), else_=text)


def iso(column: Any) -> ColumnElement[str | None]:
    """A time as ISO 8601 text in UTC (`2026-12-07T09:14:03.512000Z`), written by the database. `to_char`, not the
    time's own text, which follows the session's DateStyle."""
    return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')


def plain(column: Any) -> ColumnElement[Any]:
    """The column as the driver gives it: states are exported as their text, not turned into enums on the way."""
    return type_coerce(column, String)


def ids(*pairs: tuple[str, Any]) -> list[Column]:
    return [Column(name, cast(sql, Text), bare=True) for name, sql in pairs]


def times(*pairs: tuple[str, Any]) -> list[Column]:
    return [Column(name, iso(sql), bare=True) for name, sql in pairs]


def json(name: str, sql: ColumnElement[Any] | InstrumentedAttribute[Any]) -> Column:
    return Column(name, cast(sql, Text), json=True)


def size(*columns: Any) -> ColumnElement[int]:
    """Bytes a row's large values take: texts by their length, JSON by its stored size."""
    total: ColumnElement[int] = literal(0)
    for column in columns:
        total = total + func.coalesce(column, 0)
    return total


class Columns:
    """A source's columns, selected in one shape."""

    def __init__(self, columns: Sequence[Column], shape: Shape) -> None:
        self.shape = shape
        self.names = [column.name for column in columns]
        if shape is Shape.LINES:
            self.sql: list[Any] = [func.concat_ws(",", *(column.text() for column in columns)).label("line")]
        else:
            # Labels of their own: two columns of one name (two tables' `status`) must stay two in a subquery.
            self.sql = [column.sql.label(f"column_{index}") for index, column in enumerate(columns)]
        self.json = [index for index, column in enumerate(columns) if column.json]

    def shaped(self, rows: list[Row]) -> list[Any]:
        """Lines as they are; values with their JSON marked."""
        if self.shape is Shape.LINES:
            return [row[0] for row in rows]
        if not self.json:
            return rows
        shaped: list[Any] = []
        for row in rows:
            values = list(row)
            for index in self.json:
                if values[index] is not None:
                    values[index] = Json(values[index])
            shaped.append(values)
        return shaped


async def keyset_page(
    session: AsyncSession,
    statement: Select[*tuple[Any, ...]],
    *,
    key: InstrumentedAttribute[Any],
    after: Any,
    descending: bool,
    bounds: Bounds,
    size: ColumnElement[int] | None,
) -> tuple[list[Row], Any]:
    """The rows of `statement` after `after` in key order, and the key to read on after (None: none left)."""
    if after is not None:
        statement = statement.where(key < after if descending else key > after)
    order = key.desc() if descending else key
    statement = statement.add_columns(key.label(_KEY)).order_by(order).limit(bounds.rows)
    if size is not None:
        # A running total in key order over the rows the limit keeps; a row that begins past the budget waits for
        # the next page, and its text is never read (only the outer query outputs it).
        inner = statement.add_columns(size.label(_SIZE), func.sum(size).over(order_by=order).label(_RUNNING)).subquery()
        kept = [column for column in inner.c if column.name not in {_SIZE, _RUNNING}]
        statement = (
            select(*kept)
            .where(inner.c[_RUNNING] - inner.c[_SIZE] < bounds.budget)
            .order_by(inner.c[_KEY].desc() if descending else inner.c[_KEY])
        )
    # Core execution: rows come as tuples, with no ORM loading on the way.
    connection = await session.connection()
    rows = (await connection.execute(statement)).all()
    if not rows:
        return [], None
    return [row[:-1] for row in rows], rows[-1][-1]
