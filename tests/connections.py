"""The database connections held by the request being served, told apart from those of the app's background loops
(the job runner, the reaper, the event hub's catch-up), which share the pool and read whenever they like: a probe of
the whole pool fails at random when one of them reads at the wrong moment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from folio.observability.context import request_id_var


class Lent:
    """Each checked-out connection with the id of the request that took it (None for the app's own loops).
    SQLAlchemy checks a connection out in a greenlet that carries the awaiting task's context variables."""

    def __init__(self) -> None:
        self._out: dict[int, str | None] = {}

    def checkout(self, _dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        self._out[id(record)] = request_id_var.get()

    def checkin(self, _dbapi_connection: Any, record: Any) -> None:
        self._out.pop(id(record), None)

    def to_this_request(self) -> int:
        """How many connections the request being served holds; call it from inside the request."""
        request_id = request_id_var.get()
        assert request_id is not None, "called outside a request"
        return sum(1 for holder in self._out.values() if holder == request_id)


@contextmanager
def lent_to_requests(app: FastAPI) -> Iterator[Lent]:
    """Follows the checkouts of `app`'s pool while the block lasts."""
    pool, lent = app.state.engine.sync_engine.pool, Lent()
    event.listen(pool, "checkout", lent.checkout)
    event.listen(pool, "checkin", lent.checkin)
    try:
        yield lent
    finally:
        event.remove(pool, "checkin", lent.checkin)
        event.remove(pool, "checkout", lent.checkout)
