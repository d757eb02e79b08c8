"""SQL for the feed: the stored events a principal may read, with the names of their actors."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.events.schemas import EventType, Visibility
from folio.models import BusinessUnit, Event, Membership, User
from folio.pagination import Paged, PageRequest, newest_first_rows
from folio.repository import actor_name


@dataclass(frozen=True, slots=True)
class FeedFilters:
    types: Collection[EventType]
    actor_id: UUID | None = None
    unit_id: UUID | None = None
    subject_id: UUID | None = None
    after: datetime | None = None
    before: datetime | None = None


def readable_events(principal: Principal, types: Collection[EventType]) -> ColumnElement[bool]:
    """The events of `types` the principal may read: of its organization, of types whose scope it holds, for the
    whole organization or for a unit whose cases it sees; never one addressed to a single member."""
    readable = sorted(type.value for type in types if principal.has(type.scope))
    unit_events = Event.visibility == Visibility.UNIT.value
    if principal.units is not None:
        unit_events = and_(unit_events, Event.unit_id.in_(principal.units))
    return and_(
        Event.org_id == principal.org_id,
        Event.type.in_(readable),
        or_(Event.visibility == Visibility.ORG.value, unit_events),
    )


class FeedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, principal: Principal, filters: FeedFilters, page: PageRequest
    ) -> Paged[tuple[Event, str | None]]:
        """The events newest first, each with its actor's name (a user's name, an API key's name)."""
        statement = select(Event, actor_name()).where(readable_events(principal, filters.types), *_narrowed(filters))
        return await newest_first_rows(self.session, statement, Event.id, page)

    async def names(self, org_id: UUID, user_ids: Collection[UUID], unit_ids: Collection[UUID]) -> dict[str, str]:
        """The names of the organization's members and business units among the ids, by id (as text): one that has
        left or was deleted since is not named."""
        named: dict[str, str] = {}
        if user_ids:
            members = (
                select(User.id, User.name)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.org_id == org_id, User.id.in_(user_ids))
            )
            named.update({str(user_id): name for user_id, name in (await self.session.execute(members)).all()})
        if unit_ids:
            units = select(BusinessUnit.id, BusinessUnit.name).where(
                BusinessUnit.org_id == org_id, BusinessUnit.id.in_(unit_ids)
            )
            named.update({str(unit_id): name for unit_id, name in (await self.session.execute(units)).all()})
        return named


def _narrowed(filters: FeedFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [true()]
    if filters.actor_id is not None:
        conditions.append(Event.actor_id == filters.actor_id)
    if filters.unit_id is not None:
        conditions.append(Event.unit_id == filters.unit_id)
    if filters.subject_id is not None:
        conditions.append(Event.subject_id == filters.subject_id)
    if filters.after is not None:
        conditions.append(Event.created_at >= filters.after)
    if filters.before is not None:
        conditions.append(Event.created_at < filters.before)
    return conditions
