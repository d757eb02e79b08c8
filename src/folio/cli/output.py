"""Where the commands write: results on stdout (text, or JSON with `--json`), everything else (progress, notices,
errors) on stderr, so that `$(folio …)` and pipes get the result alone. And what they exit with."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

import typer

if TYPE_CHECKING:
    from folio_client import SyncPage

EXIT_OK = 0
EXIT_FAILED = 1  # the operation failed: a job failed, no such document, the server erred
EXIT_USAGE = 2  # the command cannot run as given: options, configuration, no key, server unreachable or refusing it
EXIT_INTERRUPTED = 130
PAGE = 100  # the most items the server lists per request

M = TypeVar("M", bound="Model")


class Model(Protocol):
    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


def say(message: str) -> None:
    """A message for the person at the terminal (stderr)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def fail(message: str, code: int) -> NoReturn:
    say(message)
    raise typer.Exit(code)


def line(text: str = "") -> None:
    """A line of the result (stdout)."""
    sys.stdout.write(text + "\n")


def json_line(value: object) -> None:
    """One JSON document on a line of its own: the result of a read, or one event of a stream (JSON lines)."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def plain(model: Model) -> dict[str, Any]:
    return model.model_dump(mode="json")


def page(items: Iterable[Model], next_cursor: str | None) -> dict[str, Any]:
    """A page as the API answers it."""
    return {"items": [plain(item) for item in items], "next_cursor": next_cursor}


def listing(items: Iterable[Model]) -> dict[str, Any]:
    return {"items": [plain(item) for item in items]}


def first(pages: SyncPage[M], limit: int) -> list[M]:
    """The first `limit` items, reading the next pages only as far as needed."""
    items: list[M] = []
    for each in pages.iter_pages():
        items.extend(each.items)
        if len(items) >= limit:
            break
    return items[:limit]


def fields(values: dict[str, str]) -> None:
    """One record on stdout, a field per line: its name, then its value."""
    width = max(map(len, values)) + 1
    for name, value in values.items():
        line(f"{name:<{width}} {value}".rstrip())


def columns(rows: list[list[str]], headers: list[str]) -> None:
    """Rows as aligned columns on stdout, under a header line (nothing but the header when there are none)."""
    table = [headers, *rows]
    widths = [max(len(row[index]) for row in table) for index in range(len(headers) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        line("  ".join([*cells, row[-1]]).rstrip())


def shown(item: M, *, as_json: bool, values: Callable[[M], dict[str, str]]) -> None:
    """One item read: with --json its JSON document, else its `values` a field per line."""
    if as_json:
        json_line(plain(item))
    else:
        fields(values(item))


def listed(items: list[M], *, as_json: bool, headers: list[str], row: Callable[[M], list[str]]) -> None:
    """Items read: with --json one JSON document that lists them, else a `row` of each under `headers`."""
    if as_json:
        json_line(listing(items))
    else:
        columns([row(item) for item in items], headers)
