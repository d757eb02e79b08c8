"""What a live client may ask for and receive: topics, type filters, and the principal's right to read them.

Topics: `org` (every event of the organization the principal may read), `jobs` and `documents` (events about
jobs, about documents), or a resource id (a job, a document or a record batch: the events about it and about
what works on it, such as a document's ingestion job). A principal receives an event only if it holds the event
type's scope (`EventType.scope`): administration events (members, API keys, webhooks) go to admins only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import exists, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.events.hub import Wants
from folio.events.outbox import LiveEvent
from folio.events.schemas import EventType, SubjectType
from folio.models import Document, Job, RecordBatch

ORG = "org"
# Topic name -> the subject type it follows.
FAMILIES = {"jobs": SubjectType.JOB, "documents": SubjectType.DOCUMENT}
MAX_TOPICS = 100


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    resource_id: UUID | None = None

    @classmethod
    def parse(cls, raw: str) -> Topic | None:
        """The topic `raw` names, or None when it names none."""
        if raw == ORG or raw in FAMILIES:
            return cls(raw)
        try:
            return cls(raw, UUID(raw))
        except ValueError:
            return None

    def matches(self, event: LiveEvent) -> bool:
        if self.resource_id is not None:
            return str(self.resource_id) in event.related()
        if self.name == ORG:
            return True
        return event.subject_type is FAMILIES[self.name]


def readable(principal: Principal, type: EventType) -> bool:
    return principal.has(type.scope)


def can_follow(principal: Principal) -> bool:
    """Whether the principal may open a live stream at all: it must be able to read some event type."""
    return any(readable(principal, type) for type in EventType)


def wants(principal: Principal, topics: Iterable[Topic], types: frozenset[EventType] | None = None) -> Wants:
    """The filter of a subscription. `topics` is read at every event, so a client may change it as it goes
    (subscribe, unsubscribe)."""

    def accept(event: LiveEvent) -> bool:
        if types is not None and event.type not in types:
            return False
        return (
            readable(principal, event.type)
            and event.audience.admits(principal)
            and any(topic.matches(event) for topic in topics)
        )

    return accept


async def resource_exists(session: AsyncSession, principal: Principal, resource_id: UUID) -> bool:
    """Whether `resource_id` is a job, document or record batch of the principal's organization. Another
    organization's id answers False, as a missing one does."""
    owned = union_all(
        *(
            select(model.id).where(model.id == resource_id, model.org_id == principal.org_id)
            for model in (Job, Document, RecordBatch)
        )
    )
    return bool(await session.scalar(select(exists(owned))))
