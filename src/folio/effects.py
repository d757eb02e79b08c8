"""Work that must happen only once a transaction has committed: dispatching jobs, publishing events, deleting
stored files. Requests and job handlers use the same sessions, so both get the same guarantee.

`after_commit(session, effect)` queues an effect on the session. When the transaction commits, the queued effects
become due and run, in order, as soon as the session commits with `await session.commit()` or is closed (the end of
`async with sessionmaker() as session, session.begin():`). When it rolls back, they are dropped. An effect that fails
is logged and the rest still run: each one has a durable fallback (the reaper re-dispatches, the relay re-reads
the outbox, the orphaned-file sweep deletes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = structlog.get_logger(__name__)

Effect = Callable[[], Awaitable[None]]

_QUEUED = "folio.effects.queued"
_DUE = "folio.effects.due"
# Per-process services the effects reach (the job queue, the event bus), put in every session's `info` by its
# sessionmaker.
OUTLETS = "folio.outlets"


def after_commit(session: AsyncSession | Session, effect: Effect) -> None:
    """Run `effect` after the session's current transaction commits; never if it rolls back."""
    session.info.setdefault(_QUEUED, []).append(effect)


def has_queued_effects(session: AsyncSession | Session) -> bool:
    """Whether effects wait for the session's transaction to commit."""
    return bool(session.info.get(_QUEUED))


class SyncSession(Session):
    """The synchronous session inside every FolioSession; listen on it for transaction events."""


@event.listens_for(SyncSession, "after_commit")
def _became_due(session: Session) -> None:
    queued: list[Effect] = session.info.pop(_QUEUED, [])
    if queued:
        session.info.setdefault(_DUE, []).extend(queued)


@event.listens_for(SyncSession, "after_rollback")
def _dropped(session: Session) -> None:
    session.info.pop(_QUEUED, None)


class FolioSession(AsyncSession):
    """An AsyncSession that runs its due after-commit effects on `commit()` and on `close()`."""

    sync_session_class = SyncSession

    async def commit(self) -> None:
        await super().commit()
        await self.run_due_effects()

    async def close(self) -> None:
        # The connection goes back to the pool first: effects may wait on a broker.
        await super().close()
        await self.run_due_effects()

    async def run_due_effects(self) -> None:
        while due := self.info.pop(_DUE, []):
            for effect in due:
                try:
                    await effect()
                except Exception:
                    log.warning("after_commit_effect_failed", effect=_name(effect), exc_info=True)


def outlet(session: AsyncSession | Session, name: str) -> Any:
    """A per-process service registered on the session's sessionmaker, or None (a CLI command has no job queue)."""
    outlets: dict[str, Any] = session.info.get(OUTLETS, {})
    return outlets.get(name)


def _name(effect: Effect) -> str:
    return getattr(effect, "__qualname__", type(effect).__name__)
