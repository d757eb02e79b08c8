"""Database faults on demand: a statement whose connection's backend is terminated as it starts, as an operator's
`pg_terminate_backend`, a server restart or a failover would do it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


@contextmanager
def backend_terminated(engine: AsyncEngine, marker: str, *, times: int = 1) -> Iterator[list[str]]:
    """The first `times` statements of `engine` that contain `marker` find their backend terminated: the statement
    fails, its connection is gone. Yields the statements it broke."""
    broken: list[str] = []

    def terminate(_connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        if marker in statement and len(broken) < times:
            broken.append(statement)
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    event.listen(engine.sync_engine, "before_cursor_execute", terminate)
    try:
        yield broken
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", terminate)
