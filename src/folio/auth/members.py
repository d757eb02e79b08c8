"""A member's principal, built from the database: what another member acting in person could see and do. Used
to check what a recipient (of a share, a notification, an alert) may see before handing something to them."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.models import Membership
from folio.repository import restriction, units_of


async def member_principal(
    session: AsyncSession, *, org_id: UUID, user_id: UUID, session_id: UUID | None = None
) -> Principal | None:
    """The principal of `user_id` acting in `org_id`, with their role and units; None when they are not a member."""
    row = (
        await session.execute(
            select(Membership.role, units_of(Membership.org_id, Membership.user_id)).where(
                Membership.org_id == org_id, Membership.user_id == user_id
            )
        )
    ).first()
    if row is None:
        return None
    return Principal.for_member(
        org_id=org_id, user_id=user_id, role=row[0], session_id=session_id, units=restriction(row[1])
    )
