"""Work an organization may have running at once in this process, counted per organization.

A counter per kind of work (streamed exports, URL imports) bounds what one organization can tie up of this process's
tasks and connections; other organizations keep theirs. The count is this process's only: each API process bounds
its own.
"""

from __future__ import annotations

from types import TracebackType
from uuid import UUID

from folio.errors import FolioError


class Slots:
    """The work of one kind each organization has running in this process. Past the limit, `take` raises the
    error the counter was built with, telling the client when to retry."""

    def __init__(self, refusal: type[FolioError], *, retry_after_seconds: int = 5) -> None:
        self._refusal = refusal
        self._retry_after = {"Retry-After": str(retry_after_seconds)}
        self._running: dict[UUID, int] = {}

    def take(self, org_id: UUID, limit: int) -> Slot:
        """A slot for `org_id`, held until it is released (or its `with` block ends)."""
        if self._running.get(org_id, 0) >= limit:
            raise self._refusal(details={"limit": limit}, headers=self._retry_after)
        self._running[org_id] = self._running.get(org_id, 0) + 1
        return Slot(self, org_id)

    def running(self, org_id: UUID) -> int:
        return self._running.get(org_id, 0)

    def _give_back(self, org_id: UUID) -> None:
        left = self._running.get(org_id, 0) - 1
        if left > 0:
            self._running[org_id] = left
        else:
            self._running.pop(org_id, None)


class Slot:
    """One organization's place in a `Slots`; released once, however many times `release` is called."""

    def __init__(self, slots: Slots, org_id: UUID) -> None:
        self._slots, self._org_id, self._held = slots, org_id, True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._give_back(self._org_id)

    def __enter__(self) -> Slot:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()
