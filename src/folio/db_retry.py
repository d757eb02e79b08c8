"""Database errors that pass, and a bounded retry of the transactions that may simply run again.

A connection can break under a transaction (the server restarted or failed over, a proxy reset it, an operator
terminated the backend), the server can refuse new connections for a moment (starting, shutting down, full), and it
can give a transaction up for a concurrent one (serialization failure, deadlock). The same transaction run again,
on a new connection, usually succeeds. Only a transaction whose second run cannot do harm is retried: one whose
statements are conditional on the row's state, so a first run that committed unseen makes the second one a no-op
(the job runner's claim and fenced writes, the reaper's passes). Requests are not retried: they answer 503 with
Retry-After (`folio.error_handlers`), and the client decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from folio.errors import ServerBusy
from folio.jitter import jitter

log = structlog.get_logger(__name__)

T = TypeVar("T")

# The database gave the transaction up for a concurrent one: the same transaction again succeeds.
CONFLICT_SQLSTATES = frozenset({"40001", "40P01"})
# The server went away or will not take the connection now: admin_shutdown, crash_shutdown, cannot_connect_now,
# too_many_connections; and class 08, connection exceptions.
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})

ATTEMPTS = 5
FIRST_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 2.0


def sqlstate(error: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE of a driver error, wrapped by SQLAlchemy or not."""
    for candidate in (getattr(error, "orig", None), error):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def is_conflict(error: BaseException) -> bool:
    return sqlstate(error) in CONFLICT_SQLSTATES


def is_unavailable(error: BaseException) -> bool:
    """The connection broke or could not be made: the database (or the way to it) is away for now."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    code = sqlstate(error)
    if code is not None:
        return code in UNAVAILABLE_SQLSTATES or code.startswith("08")
    # A connection that could not be opened at all surfaces as the socket's own error: refused, reset, no route, or
    # no Unix socket while the server restarts (FileNotFoundError, which other I/O raises too: hence the check).
    return isinstance(error, OSError) and _raised_by_the_driver(error)


def _raised_by_the_driver(error: BaseException) -> bool:
    """Whether the error was raised while asyncpg connected or talked to the server, not by other I/O."""
    frame = error.__traceback__
    while frame is not None:
        if str(frame.tb_frame.f_globals.get("__name__", "")).startswith("asyncpg"):
            return True
        frame = frame.tb_next
    return False


def is_transient(error: BaseException) -> bool:
    return is_conflict(error) or is_unavailable(error)


def busy_answer(error: BaseException) -> ServerBusy | None:
    """What a request meeting a passing database error answers, else None: 503 with Retry-After, one second for a
    transaction given up for a concurrent one, two for a database that is away. The same request later is likely
    to succeed."""
    if is_conflict(error):
        return ServerBusy(details={"reason": "conflict"}, headers={"Retry-After": "1"})
    if is_unavailable(error):
        return ServerBusy(details={"reason": "database"}, headers={"Retry-After": "2"})
    return None


def is_away(error: BaseException) -> bool:
    """The database cannot serve this process for now: unreachable, refusing, or every pooled connection lent out.
    A live stream meeting it ends with a hint to reconnect later (to another process, perhaps)."""
    return isinstance(error, PoolTimeout | OperationalError | InterfaceError) or is_unavailable(error)


async def retrying(
    work: Callable[[], Awaitable[T]],
    *,
    operation: str,
    attempts: int = ATTEMPTS,
) -> T:
    """`work()`, run again after a transient database error, up to `attempts` runs with a growing, jittered delay
    between them (0.2 s, 0.4 s, 0.8 s… at most 2 s); the last error is raised. `work` must open its own session:
    each run needs a new connection and a new transaction."""
    delay, attempt = FIRST_DELAY_SECONDS, 1
    while True:
        try:
            return await work()
        except Exception as error:
            if attempt >= attempts or not is_transient(error):
                raise
            pause = delay * jitter(0.5, 1.5)
            log.warning(
                "database_retry", operation=operation, attempt=attempt, retry_in=round(pause, 3), error=_brief(error)
            )
            await asyncio.sleep(pause)
            delay, attempt = min(delay * 2, MAX_DELAY_SECONDS), attempt + 1


def _brief(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    return f"{type(cause).__name__}: {cause}"[:300]
