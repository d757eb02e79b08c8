"""How an export reads a page: the columns of a source as SQL, the CSV rows the database writes from them, and a
keyset page bounded in rows and in bytes of text.

Rows come in one of two shapes. As *lines* (CSV), the database writes the page's CSV itself with `COPY … TO STDOUT`,
in its own process while this one sends the previous page: the SQL gives each cell's text (neutralised,
`folio.exports.formats`), COPY quotes it, and this process receives bytes, not rows. As *values* (JSON Lines,
Markdown, XLSX), times and ids are ISO 8601 and UUID text, booleans and numbers keep their type, and JSON comes as
`Json`.

A page holds at most `Bounds.rows` rows and ends early once its rows carry more than `Bounds.budget` bytes of text
(the first row always comes), so that a page of long case texts takes no more memory than a page of short ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler

from folio.exports.formats import FORMULA_STARTS, Json, Lines, Row

# Labels of the columns a page statement adds (never exported under these names).
_KEY = "page_key"
_SIZE = "page_size"
_RUNNING = "page_running"
# The parameter of the key a page is read after.
_AFTER = "page_after"


class Shape(Enum):
    LINES = "lines"
    VALUES = "values"


@dataclass(frozen=True, slots=True)
class Page:
    # `Lines` or a list of rows of values, by the reader's shape.
    rows: Any
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

    def cell(self) -> ColumnElement[Any]:
        """The column's text in a CSV row, which COPY quotes when it is not bare."""
        text = cast(self.sql, Text)
        if self.bare:
            # COPY quotes an empty text (to tell it from NULL, written as nothing): an empty bare cell is NULL.
            return func.nullif(text, "")
        return neutralised(text)


# The characters' code points as SQL literals rather than bound values: a list of bound values is expanded anew at
# every execution, for every text column.
_FORMULA_CODES: list[ColumnElement[int]] = [literal_column(str(ord(character))) for character in sorted(FORMULA_STARTS)]


def neutralised(text: ColumnElement[str]) -> ColumnElement[str]:
    """`folio.exports.formats.neutralised` in SQL. `ascii` gives the first character's code point (0 for no text),
    without making a text of it as `left(text, 1)` would."""
    return case((func.ascii(text).in_(_FORMULA_CODES), "'" + text), else_=text)


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
        # Labels of their own: two columns of one name (two tables' `status`) must stay two in a subquery.
        labels = [f"column_{index}" for index in range(len(columns))]
        if shape is Shape.LINES:
            self.sql: list[Any] = [column.cell().label(label) for column, label in zip(columns, labels, strict=True)]
        else:
            self.sql = [column.sql.label(label) for column, label in zip(columns, labels, strict=True)]
        self.quoted = [label for column, label in zip(columns, labels, strict=True) if not column.bare]
        self.json = [index for index, column in enumerate(columns) if column.json]

    def marked(self, rows: list[Row]) -> list[Any]:
        """Rows of values with their JSON marked."""
        if not self.json:
            return rows
        marked: list[Any] = []
        for row in rows:
            values = list(row)
            for index in self.json:
                if values[index] is not None:
                    values[index] = Json(values[index])
            marked.append(values)
        return marked


class Keyset:
    """A statement's rows page by page along `key`, after the last key read. Only that key changes from page to
    page: the statements (the first page's, and the next pages' with the key as a parameter) are built once, and
    compiled once for COPY. `statement(after)` gives the rows after `after` (None: from the first), in `spec`'s
    columns; as lines, a row's first column is its key."""

    def __init__(
        self,
        statement: Callable[[ColumnElement[Any] | None], Select[*tuple[Any, ...]]],
        *,
        spec: Columns,
        key: Any,
        descending: bool,
        size: ColumnElement[int] | None,
    ) -> None:
        self.spec, self.key, self.descending, self.size = spec, key, descending, size
        self._statement = statement
        self._built: dict[tuple[bool, Bounds], Select[*tuple[Any, ...]]] = {}
        self._copies: dict[tuple[bool, Bounds], _Copy] = {}

    async def page(self, session: AsyncSession, after: Any, bounds: Bounds) -> Page:
        form = (after is None, bounds)
        statement = self._built.get(form)
        if statement is None:
            statement = self._built[form] = self._build(after is None, bounds)
        values = {} if after is None else {_AFTER: after}
        connection = await session.connection()
        if self.spec.shape is Shape.LINES:
            # The page's statement with its values written in looks big enough to the planner for parallel workers
            # (a member's units, a filter), whose start costs more than a page of 2,000 rows: none, in this
            # transaction.
            await connection.execute(select(func.set_config("max_parallel_workers_per_gather", "0", True)))
            copy = self._copies.get(form)
            if copy is None:
                copy = self._copies[form] = await _Copy.of(connection, statement, self.spec.quoted, values)
            lines = await copy.run(connection, values)
            if not lines:
                return Page(lines, None)
            return Page(lines, self.key.type.python_type(lines.last_row().partition(b",")[0].decode()))
        # Core execution: rows come as tuples, with no ORM loading on the way.
        rows = (await connection.execute(statement, values)).all()
        if not rows:
            return Page([], None)
        return Page(self.spec.marked([row[:-1] for row in rows]), rows[-1][-1])

    def _build(self, first: bool, bounds: Bounds) -> Select[*tuple[Any, ...]]:
        key = self.key
        after = None if first else bindparam(_AFTER, type_=key.type)
        statement = self._statement(after)
        if after is not None:
            statement = statement.where(key < after if self.descending else key > after)
        order = key.desc() if self.descending else key
        exported = len(statement.selected_columns)
        statement = statement.add_columns(key.label(_KEY)).order_by(order).limit(bounds.rows)
        if self.size is not None:
            # A running total in key order over the rows the limit keeps; a row that begins past the budget waits
            # for the next page, and is never sent.
            running = func.sum(self.size).over(order_by=order)
            inner = statement.add_columns(self.size.label(_SIZE), running.label(_RUNNING)).subquery()
            statement = (
                select(*list(inner.c)[: exported + 1])
                .where(inner.c[_RUNNING] - inner.c[_SIZE] < bounds.budget)
                .order_by(inner.c[_KEY].desc() if self.descending else inner.c[_KEY])
            )
        if self.spec.shape is Shape.LINES:
            # COPY writes the exported columns only: the key is the first of them.
            columns = list(statement.selected_columns)[:exported]
            statement = statement.with_only_columns(*columns, maintain_column_froms=True)
        return statement


_PARAMETER = re.compile(r"\$(\d+)\b")


@dataclass(frozen=True, slots=True)
class _Copy:
    """A statement as `COPY (…) TO STDOUT (FORMAT csv)`, its `quoted` columns always quoted (NULL as nothing). COPY
    takes no parameters: each run puts them into the statement as literals quoted by PostgreSQL (`quote_literal`
    of each value cast to its parameter's type), as asyncpg's `copy_from_query` does (its private `_mogrify`), but
    with the statement compiled and its parameters' types read once, not at every page."""

    compiled: SQLCompiler
    processors: dict[str, Any]
    literals: str
    quoted: list[str]

    @classmethod
    async def of(
        cls, connection: AsyncConnection, statement: Select[*tuple[Any, ...]], quoted: list[str], values: dict[str, Any]
    ) -> _Copy:
        dialect = connection.dialect
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)  # noqa: S101 — a SELECT's
        # What SQLAlchemy does to a value before the driver has it (an enum to its text, JSON serialised).
        processors = {
            name: processor
            for parameter, name in compiled.bind_names.items()
            if (processor := parameter.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        expanded = compiled.construct_expanded_state(values)
        prepared = await (await _driver(connection)).prepare(expanded.statement)
        literals = ", ".join(
            f"quote_literal(${index}::{_type_name(kind.schema, kind.name)}::text)"
            for index, kind in enumerate(prepared.get_parameters(), 1)
        )
        return cls(compiled, processors, f"SELECT {literals}", quoted)

    async def run(self, connection: AsyncConnection, values: dict[str, Any]) -> Lines:
        driver = await _driver(connection)
        expanded = self.compiled.construct_expanded_state(values)
        processors = {**self.processors, **expanded.processors}
        arguments = [
            value if (processor := processors.get(name)) is None else processor(value)
            for name, value in zip(expanded.positiontup or (), expanded.positional_parameters, strict=True)
        ]
        sql = expanded.statement
        if arguments:
            literals = await driver.fetchrow(self.literals, *arguments)
            # The pattern does not know SQL: every `$N` it finds must be a parameter, or a `$N` written inside a
            # literal of the statement would take a value in. Export statements bind every value, so none is.
            if {int(number) for number in _PARAMETER.findall(sql)} != set(range(1, len(literals) + 1)):
                raise RuntimeError("an export statement holds a `$N` that is not one of its parameters")
            sql = _PARAMETER.sub(lambda found: literals[int(found.group(1)) - 1] or "NULL", sql)
        pieces: list[bytes] = []

        async def keep(piece: bytes) -> None:
            pieces.append(piece)

        status = await driver.copy_from_query(sql, output=keep, format="csv", force_quote=self.quoted or None)
        return Lines(b"".join(pieces), int(status.rpartition(" ")[2]))


async def _driver(connection: AsyncConnection) -> Any:
    """The session's asyncpg connection, for what SQLAlchemy does not run (COPY)."""
    return (await connection.get_raw_connection()).driver_connection


def _type_name(schema: str, name: str) -> str:
    """A type as a cast names it: asyncpg names an array type `varchar[]`, whose brackets are not the name's."""
    base = name.removesuffix("[]")
    brackets = "[]" if base != name else ""
    return f"{_identifier(schema)}.{_identifier(base)}{brackets}"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
