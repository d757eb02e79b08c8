"""SQL for inboxes. A member's requests start from `scoped(principal)`: their own notifications in their organization.
`notify` acts for the system, by organization and recipient ids."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple
from uuid import UUID

from sqlalchemy import ColumnElement, Select, Uuid, and_, column, delete, func, insert, select, true, update, values
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.db import table
from folio.models import Membership, Notification, NotificationChannel, NotificationKind, NotificationPreference, Role
from folio.pagination import Paged, PageRequest, newest_first
from folio.repository import ScopedRepository, restriction, units_of


class Recipient(NamedTuple):
    """A member to notify: what they may see, and where they want this kind of notification."""

    user_id: UUID
    principal: Principal
    channel: NotificationChannel


def _own(principal: Principal) -> tuple[ColumnElement[bool], ...]:
    return Notification.org_id == principal.org_id, Notification.user_id == principal.member_id


class InboxRepository(ScopedRepository[Notification]):
    model = Notification

    def scoped(self, principal: Principal) -> Select[Notification]:
        """The member's own notifications: another member's are as absent as another organization's."""
        return select(Notification).where(*_own(principal))

    async def page_newest_first(
        self, principal: Principal, page: PageRequest, *, unread_only: bool, kind: NotificationKind | None
    ) -> Paged[Notification]:
        """The cursor is the last notification shown, and the next page holds older ones."""
        statement = self.scoped(principal)
        if unread_only:
            statement = statement.where(Notification.read_at.is_(None))
        if kind is not None:
            statement = statement.where(Notification.kind == kind)
        return await newest_first(self.session, statement, Notification.id, page)

    async def unread_count(self, principal: Principal) -> int:
        statement = (
            select(func.count()).select_from(Notification).where(*_own(principal), Notification.read_at.is_(None))
        )
        return int(await self.session.scalar(statement) or 0)

    async def set_read(self, principal: Principal, notification_id: UUID, *, read: bool) -> Notification | None:
        """Marked read (keeping the first time it was read) or unread; None when it is not the member's."""
        read_at = func.coalesce(Notification.read_at, func.now()) if read else None
        statement = (
            update(Notification)
            .where(*_own(principal), Notification.id == notification_id)
            .values(read_at=read_at)
            .returning(Notification)
        )
        notification: Notification | None = (await self.session.scalars(statement)).one_or_none()
        return notification

    async def read_all(self, principal: Principal, up_to: UUID | None) -> int:
        """Every unread notification (up to and including `up_to`, when given) marked read; how many."""
        statement = update(Notification).where(*_own(principal), Notification.read_at.is_(None))
        if up_to is not None:
            statement = statement.where(Notification.id <= up_to)
        result = await self.session.execute(
            statement.values(read_at=func.now()).execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def remove(self, principal: Principal, notification_id: UUID) -> bool:
        result = await self.session.execute(
            delete(Notification)
            .where(*_own(principal), Notification.id == notification_id)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    # The system's side: notify() by organization and recipient ids.

    async def recipients(self, org_id: UUID, user_ids: Collection[UUID], kind: NotificationKind) -> list[Recipient]:
        """Those of `user_ids` who are members of the organization, with their units and their channel for `kind`
        (one statement, however many)."""
        preference = and_(
            NotificationPreference.org_id == Membership.org_id,
            NotificationPreference.user_id == Membership.user_id,
            NotificationPreference.kind == kind,
        )
        statement = (
            select(
                Membership.user_id,
                Membership.role,
                units_of(Membership.org_id, Membership.user_id),
                NotificationPreference.channel,
            )
            .outerjoin(NotificationPreference, preference)
            .where(Membership.org_id == org_id, Membership.user_id.in_(user_ids))
        )
        return [
            Recipient(
                user_id,
                Principal.for_member(org_id=org_id, user_id=user_id, role=role, units=restriction(units)),
                channel or NotificationChannel.IN_APP,
            )
            for user_id, role, units, channel in (await self.session.execute(statement))
        ]

    async def admins(self, org_id: UUID, limit: int) -> list[UUID]:
        """The organization's owners and admins (at most `limit` of them)."""
        statement = (
            select(Membership.user_id)
            .where(Membership.org_id == org_id, Membership.role.in_([Role.OWNER, Role.ADMIN]))
            .order_by(Membership.created_at)
            .limit(limit)
        )
        return list((await self.session.scalars(statement)).all())

    async def insert(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """One INSERT for all of them."""
        await self.session.execute(insert(table(Notification)), list(rows))

    async def prune(self, org_id: UUID, user_ids: Collection[UUID], keep: int) -> None:
        """Each member's inbox cut to its newest `keep` notifications, read or not.

        Per member, the index is read from the newest down to the first notification beyond `keep` (a short read
        when the inbox is not full), and everything from there down goes, in one statement for all of them.
        """
        owners = values(column("user_id", Uuid()), name="owners").data([(user_id,) for user_id in user_ids])
        first_dropped = (
            select(Notification.id)
            .where(Notification.org_id == org_id, Notification.user_id == owners.c.user_id)
            .order_by(Notification.id.desc())
            .offset(keep)
            .limit(1)
            .lateral("first_dropped")
        )
        overflow = (
            select(owners.c.user_id, first_dropped.c.id.label("first_dropped"))
            .select_from(owners.join(first_dropped, true()))
            .subquery("overflow")
        )
        await self.session.execute(
            delete(Notification)
            .where(
                Notification.org_id == org_id,
                Notification.user_id == overflow.c.user_id,
                Notification.id <= overflow.c.first_dropped,
            )
            .execution_options(synchronize_session=False)
        )


class PreferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def channels(self, principal: Principal) -> dict[NotificationKind, NotificationChannel]:
        """The member's chosen channels; kinds left out go to the inbox."""
        statement = select(NotificationPreference.kind, NotificationPreference.channel).where(
            NotificationPreference.org_id == principal.org_id, NotificationPreference.user_id == principal.member_id
        )
        return dict((await self.session.execute(statement)).all())

    async def replace(self, principal: Principal, channels: Mapping[NotificationKind, NotificationChannel]) -> None:
        """Only the kinds not sent to the inbox keep a row. Upserts and deletes, so two requests at once cannot
        collide on a row."""
        member = (
            NotificationPreference.org_id == principal.org_id,
            NotificationPreference.user_id == principal.member_id,
        )
        defaults = [kind for kind, channel in channels.items() if channel is NotificationChannel.IN_APP]
        if defaults:
            await self.session.execute(
                delete(NotificationPreference).where(*member, NotificationPreference.kind.in_(defaults))
            )
        chosen = [
            {"org_id": principal.org_id, "user_id": principal.member_id, "kind": kind, "channel": channel}
            for kind, channel in channels.items()
            if channel is not NotificationChannel.IN_APP
        ]
        if chosen:
            statement = upsert(NotificationPreference).values(chosen)
            await self.session.execute(
                statement.on_conflict_do_update(
                    index_elements=["org_id", "user_id", "kind"], set_={"channel": statement.excluded.channel}
                )
            )
