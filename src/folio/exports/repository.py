"""SQL of export jobs: a requester's exports, the organization's running ones, the expired ones."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, Select, delete, func, or_, select

from folio.auth.principal import Principal
from folio.models import ApiKey, Export, ExportStatus, Membership
from folio.pagination import Paged, PageRequest, newest_first
from folio.repository import ScopedRepository

_ACTIVE = (ExportStatus.QUEUED, ExportStatus.RUNNING)


def made_by(principal: Principal) -> ColumnElement[bool]:
    """The exports of the principal: an API key's own; a member's in person or through their keys (which never read
    more than the member)."""
    if principal.api_key_id is not None:
        return Export.api_key_id == principal.api_key_id
    return Export.created_by == principal.user_id


class ExportRepository(ScopedRepository[Export]):
    model = Export

    def scoped(self, principal: Principal) -> Select[Export]:
        """The principal's own exports in its organization: an export's content is its requester's alone."""
        return super().scoped(principal).where(made_by(principal))

    async def page_newest_first(self, principal: Principal, page: PageRequest) -> Paged[Export]:
        return await newest_first(self.session, self.scoped(principal), Export.id, page)

    async def count_active(self, org_id: UUID) -> int:
        count = await self.session.scalar(
            select(func.count()).where(Export.org_id == org_id, Export.status.in_(_ACTIVE))
        )
        return int(count or 0)

    async def get_any(self, export_id: UUID, *, for_update: bool = False) -> Export | None:
        """The export of any organization: for its download link, whose signature is the authority, and its job."""
        statement = select(Export).where(Export.id == export_id)
        export: Export | None = await self.session.scalar(statement.with_for_update() if for_update else statement)
        return export

    async def requester_present(self, export: Export, now: datetime) -> bool:
        """Whether who asked for the export still could: still a member, and their API key still live."""
        if export.created_by is not None:
            member = await self.session.scalar(
                select(Membership.user_id).where(
                    Membership.org_id == export.org_id, Membership.user_id == export.created_by
                )
            )
            if member is None:
                return False
        if export.api_key_id is not None:
            key = await self.session.scalar(
                select(ApiKey.id).where(
                    ApiKey.id == export.api_key_id,
                    ApiKey.revoked_at.is_(None),
                    or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
                )
            )
            if key is None:
                return False
        return True

    async def expired(self, now: datetime, limit: int) -> list[Export]:
        """Exports past their expiry, oldest first, locked (others skipped): the periodic job deletes them."""
        statement = (
            select(Export)
            .where(Export.expires_at <= now)
            .order_by(Export.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(await self.session.scalars(statement))

    async def delete_many(self, export_ids: list[UUID]) -> None:
        await self.session.execute(delete(Export).where(Export.id.in_(export_ids)))
