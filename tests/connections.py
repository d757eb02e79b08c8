"""The database connections held by the request being served, told apart from those of the app's background loops
(the job runner, the reaper, the event hub's catch-up), which share the pool and read whenever they like: a probe of
the whole pool fails at random when one of them reads at the wrong moment."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from folio.observability.context import request_id_var


class Lent:
    """Each checked-out connection with the id of the request that took it (None for the app's own loops).
    SQLAlchemy checks a connection out in a greenlet that carries the awaiting task's context variables. A job that
    the request dispatches runs in a copy of its context (the embedded broker starts it as a task), so the job's
    connections count as the request's: a count can be too high then, never too low."""

    def __init__(self) -> None:
        self._out: dict[int, str | None] = {}

    def checkout(self, _dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        self._out[id(record)] = request_id_var.get()

    def checkin(self, _dbapi_connection: Any, record: Any) -> None:
        self._out.pop(id(record), None)

    def to_this_request(self) -> int:
        """How many connections the request being served holds; call it from inside the request (or from a thread
        it runs work in: anyio's worker threads carry its context variables)."""
        request_id = request_id_var.get()
        assert request_id is not None, "called outside a request"
        return self.to_request(request_id)

    def to_request(self, request_id: str) -> int:
        """How many connections the request of this id holds: for a probe outside the request, such as a test
        waiting while the request is stalled, which sends the request with its own `X-Request-ID`."""
        # A copy first: the pool's events come on the event loop's thread, a probe may read from another.
        return sum(1 for holder in list(self._out.values()) if holder == request_id)


@contextmanager
def lent_to_requests(app: FastAPI) -> Iterator[Lent]:
    """Follows the checkouts of `app`'s pool while the block lasts."""
    with _following(app, Lent()) as lent:
        yield lent


def lent_while_served(app: FastAPI) -> Lent:
    """Follows the checkouts of `app`'s pool from its start to its end, for an app served from a thread of its own
    (`tests.live_server`): its lifespan adds and removes the listeners, on the thread that checks connections out,
    since adding one while that thread runs the pool's listeners could break their loop. Call before serving."""
    lent, lifespan = Lent(), app.router.lifespan_context

    @asynccontextmanager
    async def following(served: Any) -> AsyncIterator[Any]:
        async with lifespan(served) as state:
            with _following(app, lent):
                yield state

    app.router.lifespan_context = following
    return lent


@contextmanager
def _following(app: FastAPI, lent: Lent) -> Iterator[Lent]:
    pool = app.state.engine.sync_engine.pool
    event.listen(pool, "checkout", lent.checkout)
    event.listen(pool, "checkin", lent.checkin)
    try:
        yield lent
    finally:
        event.remove(pool, "checkin", lent.checkin)
        event.remove(pool, "checkout", lent.checkout)
