"""SQL for public links and their access log. Management statements start from `scoped(principal)`; a visitor's
statements find a link by its token's digest alone, which is the point of a link."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, delete, func, or_, select, update

from folio.auth.principal import Principal, Scope
from folio.models import ShareLink, ShareLinkAccess
from folio.pagination import Paged, PageRequest, newest_first
from folio.repository import ScopedRepository


class LinkRepository(ScopedRepository[ShareLink]):
    model = ShareLink

    def scoped(self, principal: Principal) -> Select[ShareLink]:
        """An admin's: the organization's links; anyone else's: the links they made."""
        statement = super().scoped(principal)
        if principal.has(Scope.ADMIN):
            return statement
        return statement.where(ShareLink.created_by == principal.user_id)

    async def count_live(self, principal: Principal, at: datetime) -> int:
        statement = select(func.count()).where(
            ShareLink.org_id == principal.org_id, ShareLink.revoked_at.is_(None), ShareLink.expires_at > at
        )
        return int(await self.session.scalar(statement) or 0)

    async def prune_dead(self, principal: Principal, at: datetime, *, keep: int) -> None:
        """Delete the organization's revoked and expired links (and their access logs) but the newest `keep`."""
        oldest = (
            select(ShareLink.id)
            .where(
                ShareLink.org_id == principal.org_id,
                or_(ShareLink.revoked_at.is_not(None), ShareLink.expires_at <= at),
            )
            .order_by(ShareLink.id.desc())
            .offset(keep)
        )
        await self.session.execute(delete(ShareLink).where(ShareLink.id.in_(oldest.scalar_subquery())))

    async def page_accesses(self, link: ShareLink, page: PageRequest) -> Paged[ShareLinkAccess]:
        """Newest first: the cursor is the last access shown, and the next page holds older ones."""
        statement = select(ShareLinkAccess).where(ShareLinkAccess.link_id == link.id)
        return await newest_first(self.session, statement, ShareLinkAccess.id, page)

    # A visitor's side: no principal, the token's digest is the key.

    async def by_digest(self, digest: str) -> ShareLink | None:
        link: ShareLink | None = await self.session.scalar(select(ShareLink).where(ShareLink.token_digest == digest))
        return link

    async def for_password_check(self, link_id: UUID) -> ShareLink | None:
        """The link as it is now, locked until the commit: concurrent attempts are counted one after another."""
        statement = (
            select(ShareLink).where(ShareLink.id == link_id).with_for_update().execution_options(populate_existing=True)
        )
        link: ShareLink | None = await self.session.scalar(statement)
        return link

    async def clear_password_attempts(self, link_id: UUID) -> None:
        await self.session.execute(
            update(ShareLink)
            .where(ShareLink.id == link_id, ShareLink.password_attempts != 0)
            .values(password_attempts=0)
        )

    async def log_access(self, access: ShareLinkAccess, *, keep: int) -> None:
        """Record the access, and forget the link's accesses but the newest `keep`."""
        self.session.add(access)
        await self.session.flush()
        oldest_kept = (
            select(ShareLinkAccess.id)
            .where(ShareLinkAccess.link_id == access.link_id)
            .order_by(ShareLinkAccess.id.desc())
            .offset(keep - 1)
            .limit(1)
        )
        await self.session.execute(
            delete(ShareLinkAccess).where(
                ShareLinkAccess.link_id == access.link_id, ShareLinkAccess.id < oldest_kept.scalar_subquery()
            )
        )
