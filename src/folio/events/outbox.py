"""Recording events with the change they describe, and publishing them once it is committed.

`emit(session, ...)` keeps the event on the session. Just before the transaction commits, its stored events are
inserted under one transaction-scoped advisory lock, taken last: ids are drawn and committed in the same order,
so a reader that has seen id N has seen every event before it (no event commits later with a smaller id), and the
lock, held only from the insert to the commit, cannot deadlock with the transaction's row locks. After the
commit the events are published to the bus (`folio.events.bus`); one lost on the way (a crash, Redis down) is
read from the outbox by every API process's relay (`folio.events.hub`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import orjson
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from folio.auth.principal import Principal
from folio.db import table
from folio.effects import SyncSession, after_commit, outlet
from folio.events.schemas import DATA_OF, SYSTEM, Actor, Data, EventType, SubjectType, Visibility
from folio.models import Event

BUS = "bus"
# "FolioEv1": the advisory lock that orders event ids with commits.
EVENTS_LOCK = 0x466F6C696F457631
_PENDING = "folio.events.pending"


@dataclass(frozen=True, slots=True)
class Audience:
    """Who of the organization receives an event (`Visibility`)."""

    visibility: Visibility = Visibility.ORG
    unit_id: UUID | None = None
    recipient_id: UUID | None = None

    @classmethod
    def unit(cls, unit_id: UUID | None) -> Audience:
        """The members who see the cases of `unit_id`."""
        return cls(Visibility.UNIT, unit_id=unit_id)

    @classmethod
    def recipient(cls, user_id: UUID) -> Audience:
        return cls(Visibility.RECIPIENT, recipient_id=user_id)

    def admits(self, principal: Principal) -> bool:
        if self.visibility is Visibility.UNIT:
            return principal.sees_unit(self.unit_id)
        if self.visibility is Visibility.RECIPIENT:
            return principal.member_id is not None and principal.member_id == self.recipient_id
        return True


ORGANIZATION = Audience()


@dataclass(frozen=True, slots=True, eq=False)
class LiveEvent:
    """An event as the bus carries it and clients receive it."""

    id: int | None
    org_id: UUID
    type: EventType
    subject_type: SubjectType
    subject_id: UUID | None
    actor: Actor
    data: dict[str, Any]
    created_at: datetime
    audience: Audience = ORGANIZATION
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type.value,
            "org_id": self.org_id,
            "subject": {"type": self.subject_type.value, "id": self.subject_id},
            "actor": {"type": self.actor.type, "id": self.actor.id},
            "visibility": self.audience.visibility.value,
            "unit_id": self.audience.unit_id,
            "recipient_id": self.audience.recipient_id,
            "data": self.data,
            "created_at": self.created_at,
        }

    def json(self) -> bytes:
        """The event as JSON, encoded once however many clients receive it."""
        encoded: bytes | None = self._cache.get("json")
        if encoded is None:
            # `default=str`: ids read back from the database are asyncpg's own UUID type, which orjson does not know.
            encoded = self._cache["json"] = orjson.dumps(self.body(), default=str)
        return encoded

    def related(self) -> frozenset[str]:
        """The ids the event is about: its subject, and what the subject works on (a job's document, a summary's
        document)."""
        related: frozenset[str] | None = self._cache.get("related")
        if related is None:
            ids = {str(self.subject_id)} if self.subject_id else set()
            for key in ("subject_id", "document_id"):
                if (value := self.data.get(key)) is not None:
                    ids.add(str(value))
            related = self._cache["related"] = frozenset(ids)
        return related

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> LiveEvent:
        """The event from its JSON body (`body()` as decoded JSON)."""
        return cls(
            id=body["id"],
            org_id=UUID(body["org_id"]),
            type=EventType(body["type"]),
            subject_type=SubjectType(body["subject"]["type"]),
            subject_id=UUID(body["subject"]["id"]) if body["subject"]["id"] else None,
            actor=Actor.model_validate(body["actor"]),
            data=body["data"],
            created_at=datetime.fromisoformat(body["created_at"]),
            audience=Audience(
                Visibility(body["visibility"]),
                unit_id=UUID(body["unit_id"]) if body["unit_id"] else None,
                recipient_id=UUID(body["recipient_id"]) if body["recipient_id"] else None,
            ),
        )

    @classmethod
    def from_row(cls, row: Event) -> LiveEvent:
        return cls(
            id=row.id,
            org_id=row.org_id,
            type=EventType(row.type),
            subject_type=SubjectType(row.subject_type),
            subject_id=row.subject_id,
            actor=Actor.model_validate({"type": row.actor_type, "id": row.actor_id}),
            data=row.data,
            created_at=row.created_at,
            audience=Audience(Visibility(row.visibility), unit_id=row.unit_id, recipient_id=row.recipient_id),
        )


class Publisher(Protocol):
    async def publish(self, events: Sequence[LiveEvent]) -> None: ...


def actor_of(principal: Principal | None) -> Actor:
    if principal is None:
        return SYSTEM
    if principal.api_key_id is not None:
        return Actor(type="api_key", id=principal.api_key_id)
    if principal.user_id is not None:
        return Actor(type="user", id=principal.user_id)
    return SYSTEM


def emit(
    session: AsyncSession,
    *,
    org_id: UUID,
    type: EventType,
    subject_id: UUID | None,
    data: Data,
    actor: Actor = SYSTEM,
    subject_type: SubjectType | None = None,
    audience: Audience = ORGANIZATION,
) -> None:
    """Record an event of the current transaction; it is stored and published only if the transaction commits.

    The subject's type defaults to the event type's family (`job.started` → `job`).
    """
    expected = DATA_OF[type]
    if not isinstance(data, expected):
        raise TypeError(f"{type.value} carries {expected.__name__}, not {data.__class__.__name__}")
    live = LiveEvent(
        id=None,
        org_id=org_id,
        type=type,
        subject_type=subject_type or SubjectType(type.value.split(".", 1)[0]),
        subject_id=subject_id,
        actor=actor,
        data=data.model_dump(mode="json"),
        created_at=datetime.now(UTC),
        audience=audience,
    )
    if type.durable:
        session.info.setdefault(_PENDING, []).append(live)
    else:
        _publish_after_commit(session, [live])


@event.listens_for(SyncSession, "before_commit")
def _store(session: Session) -> None:
    pending: list[LiveEvent] = session.info.pop(_PENDING, [])
    if not pending:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENTS_LOCK})
    rows = session.execute(
        insert(table(Event)).returning(table(Event).c.id, table(Event).c.created_at, sort_by_parameter_order=True),
        [
            {
                "org_id": live.org_id,
                "type": live.type.value,
                "subject_type": live.subject_type.value,
                "subject_id": live.subject_id,
                "actor_type": live.actor.type,
                "actor_id": live.actor.id,
                "visibility": live.audience.visibility.value,
                "unit_id": live.audience.unit_id,
                "recipient_id": live.audience.recipient_id,
                "data": live.data,
            }
            for live in pending
        ],
    ).all()
    stored = [
        LiveEvent(
            id=row.id,
            org_id=live.org_id,
            type=live.type,
            subject_type=live.subject_type,
            subject_id=live.subject_id,
            actor=live.actor,
            data=live.data,
            created_at=row.created_at,
            audience=live.audience,
        )
        for live, row in zip(pending, rows, strict=True)
    ]
    _publish_after_commit(session, sorted(stored, key=lambda live: live.id or 0))


@event.listens_for(SyncSession, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _publish_after_commit(session: AsyncSession | Session, events: list[LiveEvent]) -> None:
    async def publish() -> None:
        bus: Publisher | None = outlet(session, BUS)
        if bus is not None:
            await bus.publish(events)

    after_commit(session, publish)
