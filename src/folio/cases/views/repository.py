from __future__ import annotations

from uuid import UUID

from sqlalchemy import ColumnElement, Select, func, or_, select, text

from folio.auth.principal import Principal
from folio.models import SavedView
from folio.repository import ScopedRepository


class ViewRepository(ScopedRepository[SavedView]):
    model = SavedView

    def scoped(self, principal: Principal) -> Select[SavedView]:
        """The principal's own views and those shared in its organization."""
        visible: ColumnElement[bool] = SavedView.shared.is_(True)
        if principal.user_id is not None:
            visible = or_(visible, SavedView.owner_id == principal.user_id)
        return select(SavedView).where(SavedView.org_id == principal.org_id, visible)

    async def lock_counts(self, org_id: UUID) -> None:
        """Serialise the organization's view changes, so that two requests cannot both pass a bound."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"folio.views:{org_id}"}
        )

    async def count_owned(self, org_id: UUID, owner_id: UUID) -> int:
        statement = select(func.count()).where(SavedView.org_id == org_id, SavedView.owner_id == owner_id)
        return int(await self.session.scalar(statement) or 0)

    async def count_shared(self, org_id: UUID) -> int:
        statement = select(func.count()).where(SavedView.org_id == org_id, SavedView.shared.is_(True))
        return int(await self.session.scalar(statement) or 0)
