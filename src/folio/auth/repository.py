"""SQL for users, login sessions and refresh tokens."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple
from uuid import UUID

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.identity import OrgCard, UserCard
from folio.auth.principal_cache import invalidate, session_tag
from folio.models import AuthSession, Membership, Organization, RefreshToken, Role, User
from folio.repository import restriction, units_of


class AccessContext(NamedTuple):
    user_active: bool
    session_revoked: bool
    role: Role | None
    units: frozenset[UUID] | None
    user: UserCard
    org: OrgCard | None  # None when the user is no member of it


# Built once: a request whose principal is not cached runs it, and rebuilding the statement costs more than
# executing it.
_ACCESS_CONTEXT = (
    select(
        User.is_active,
        AuthSession.revoked_at.is_not(None),
        Membership.role,
        units_of(Membership.org_id, Membership.user_id),
        User.email,
        User.name,
        User.created_at,
        Organization.name,
    )
    .join(AuthSession, (AuthSession.user_id == User.id) & (AuthSession.id == bindparam("session_id")))
    .outerjoin(Membership, (Membership.user_id == User.id) & (Membership.org_id == bindparam("org_id")))
    .outerjoin(Organization, Organization.id == Membership.org_id)
    .where(User.id == bindparam("user_id"))
)


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user_by_email(self, email: str) -> User | None:
        user: User | None = await self.session.scalar(select(User).where(User.email == email))
        return user

    async def user_by_id(self, user_id: UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def add(self, row: User | AuthSession | RefreshToken) -> None:
        self.session.add(row)
        await self.session.flush()

    async def default_org_id(self, user_id: UUID) -> UUID | None:
        org_id: UUID | None = await self.session.scalar(
            select(Membership.org_id).where(Membership.user_id == user_id).order_by(Membership.created_at).limit(1)
        )
        return org_id

    async def access_context(self, *, user_id: UUID, session_id: UUID, org_id: UUID) -> AccessContext | None:
        """Everything an access token needs checked, and what /auth/me shows, in one round trip."""
        params = {"user_id": user_id, "session_id": session_id, "org_id": org_id}
        row = (await self.session.execute(_ACCESS_CONTEXT, params)).first()
        if row is None:
            return None
        return AccessContext(
            user_active=row[0],
            session_revoked=row[1],
            role=row[2],
            units=restriction(row[3]),
            user=UserCard(id=user_id, email=row[4], name=row[5], created_at=row[6]),
            org=None if row[7] is None else OrgCard(id=org_id, name=row[7]),
        )

    async def refresh_token_for_update(self, token_hash: str) -> tuple[RefreshToken, AuthSession] | None:
        statement = (
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == token_hash)
            .with_for_update()
        )
        row = (await self.session.execute(statement)).first()
        return (row[0], row[1]) if row else None

    async def revoke_session(self, session_id: UUID, reason: str) -> None:
        await self.session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC), revoked_reason=reason)
        )
        invalidate(self.session, session_tag(session_id))
