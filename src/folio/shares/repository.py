"""SQL for shares between members. Request-side statements start from `scoped(principal)`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from uuid import UUID

from sqlalchemy import Select, exists, func, insert, or_, select

from folio.auth.principal import Principal
from folio.models import Share, ShareItemType, ShareRecipient
from folio.models.share import ITEM_COLUMNS
from folio.pagination import Paged, PageRequest
from folio.repository import ScopedRepository


class ShareRepository(ScopedRepository[Share]):
    model = Share

    def scoped(self, principal: Principal) -> Select[Share]:
        """The shares the principal sent or received."""
        received = exists().where(ShareRecipient.share_id == Share.id, ShareRecipient.user_id == principal.user_id)
        return super().scoped(principal).where(or_(Share.created_by == principal.user_id, received))

    async def of_org(self, principal: Principal, share_id: UUID) -> Share | None:
        """Any share of the principal's organization (for admins)."""
        share: Share | None = await self.session.scalar(
            super().scoped(principal).where(Share.id == share_id).with_for_update()
        )
        return share

    async def count_of_item(self, principal: Principal, item_type: ShareItemType, item_id: UUID) -> int:
        column = getattr(Share, ITEM_COLUMNS[item_type])
        statement = select(func.count()).where(Share.org_id == principal.org_id, column == item_id)
        return int(await self.session.scalar(statement) or 0)

    async def add_recipients(self, share: Share, user_ids: Collection[UUID]) -> None:
        rows = [{"share_id": share.id, "user_id": user_id, "org_id": share.org_id} for user_id in user_ids]
        await self.session.execute(insert(ShareRecipient), rows)

    async def page_received(self, principal: Principal, page: PageRequest) -> Paged[Share]:
        received = select(ShareRecipient.share_id).where(
            ShareRecipient.user_id == principal.user_id, ShareRecipient.org_id == principal.org_id
        )
        return await self.page(principal, page, Share.id.in_(received.scalar_subquery()))

    async def page_sent(self, principal: Principal, page: PageRequest) -> Paged[Share]:
        return await self.page(principal, page, Share.created_by == principal.user_id)

    async def recipients_of(self, share_ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
        statement = (
            select(ShareRecipient.share_id, ShareRecipient.user_id)
            .where(ShareRecipient.share_id.in_(share_ids))
            .order_by(ShareRecipient.share_id, ShareRecipient.user_id)
        )
        recipients: dict[UUID, list[UUID]] = defaultdict(list)
        for share_id, user_id in await self.session.execute(statement):
            recipients[share_id].append(user_id)
        return recipients
