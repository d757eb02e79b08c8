"""All SQL of the audit log: reading an organization's entries, and deleting those past retention."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, Select, delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.models import AuditEntry, Membership, Role, User
from folio.models.audit import UNDELETABLE_DAYS
from folio.pagination import Paged, PageRequest, newest_first


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Every condition given must hold; `since` is inclusive, `until` exclusive."""

    actions: Collection[str] = ()
    actor_user_id: UUID | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list[ColumnElement[bool]]:
        """What an entry meets to pass the filter."""
        conditions: list[ColumnElement[bool]] = []
        if self.actions:
            conditions.append(AuditEntry.action.in_(list(self.actions)))
        if self.actor_user_id is not None:
            conditions.append(AuditEntry.actor_user_id == self.actor_user_id)
        if self.target_type is not None:
            conditions.append(AuditEntry.target_type == self.target_type)
        if self.target_id is not None:
            conditions.append(AuditEntry.target_id == self.target_id)
        if self.since is not None:
            conditions.append(AuditEntry.created_at >= self.since)
        if self.until is not None:
            conditions.append(AuditEntry.created_at < self.until)
        return conditions


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def scoped(self, principal: Principal) -> Select[AuditEntry]:
        return select(AuditEntry).where(AuditEntry.org_id == principal.org_id)

    def add(self, entry: AuditEntry) -> None:
        """Added, not flushed: the entry is written with the change it records, or not at all."""
        self.session.add(entry)

    async def page_newest_first(self, principal: Principal, page: PageRequest, where: AuditFilter) -> Paged[AuditEntry]:
        """The cursor is the last entry shown; the next page holds older ones."""
        return await newest_first(self.session, self.scoped(principal).where(*where.where()), AuditEntry.id, page)

    async def email_of(self, user_id: UUID) -> str | None:
        user = await self.session.get(User, user_id)  # usually loaded already by the request
        return user.email if user is not None else None

    async def memberships_of(self, user_id: UUID, limit: int) -> list[tuple[UUID, Role]]:
        """The user's organizations and roles, the most recently joined first."""
        statement = (
            select(Membership.org_id, Membership.role)
            .where(Membership.user_id == user_id)
            .order_by(Membership.created_at.desc(), Membership.org_id)
            .limit(limit)
        )
        return [(org_id, role) for org_id, role in (await self.session.execute(statement)).all()]


async def delete_entries_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """At most `limit` entries older than `cutoff`, oldest first. Never younger than UNDELETABLE_DAYS by the
    database's clock, which the trigger judges by: a clock skew between this process and the database would
    otherwise fail the whole step."""
    floor = func.now() - literal(timedelta(days=UNDELETABLE_DAYS))
    oldest = (
        select(AuditEntry.id)
        .where(AuditEntry.created_at < cutoff, AuditEntry.created_at < floor)
        .order_by(AuditEntry.id)
        .limit(limit)
    )
    result = await session.execute(delete(AuditEntry).where(AuditEntry.id.in_(oldest.scalar_subquery())))
    return int(getattr(result, "rowcount", 0) or 0)
