"""SQL for sign-in flows, provider identities, and organizations that require sign-in through a provider."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal_cache import invalidate, session_tag
from folio.models import AuthFlow, AuthSession, Membership, Organization, Role, User, UserIdentity

# Flows are kept this long after they expire, so that a late callback is told it expired rather than unknown.
EXPIRED_FLOWS_KEPT = timedelta(days=1)


async def delete_flows_expired_before(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    """At most `limit` flows expired before `cutoff`, oldest first (the periodic `auth.prune_flows`); how many."""
    oldest = select(AuthFlow.id).where(AuthFlow.expires_at < cutoff).order_by(AuthFlow.expires_at).limit(limit)
    result = await session.execute(delete(AuthFlow).where(AuthFlow.id.in_(oldest.scalar_subquery())))
    return int(getattr(result, "rowcount", 0) or 0)


class SsoRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: AuthFlow | UserIdentity) -> None:
        self.session.add(row)
        await self.session.flush()

    async def flow_for_update(self, state_hash: str) -> AuthFlow | None:
        """The flow of a state, locked: of two requests presenting it at once, the second sees it used."""
        flow: AuthFlow | None = await self.session.scalar(
            select(AuthFlow).where(AuthFlow.state_hash == state_hash).with_for_update()
        )
        return flow

    async def user_of_identity(self, *, issuer: str, subject: str) -> User | None:
        user: User | None = await self.session.scalar(
            select(User)
            .join(UserIdentity, UserIdentity.user_id == User.id)
            .where(UserIdentity.issuer == issuer, UserIdentity.subject == subject)
        )
        return user

    async def has_identity(self, user_id: UUID, providers: list[str]) -> bool:
        found = await self.session.scalar(
            select(exists().where(UserIdentity.user_id == user_id, UserIdentity.provider.in_(providers)))
        )
        return bool(found)

    async def is_sso_required_for(self, user_id: UUID) -> bool:
        """Whether the user is a member, other than an owner, of an organization that requires a provider."""
        found = await self.session.scalar(
            select(
                exists()
                .where(Membership.user_id == user_id, Membership.role != Role.OWNER)
                .where(Organization.id == Membership.org_id, Organization.require_sso.is_(True))
            )
        )
        return bool(found)

    async def revoke_user_sessions(self, user_id: UUID, *, moment: datetime) -> int:
        """Revoke every login session of the user (they joined an organization that requires a provider)."""
        result = await self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=moment, revoked_reason="sso_required")
            .returning(AuthSession.id)
        )
        return self._revoked(list(result.scalars()))

    async def revoke_member_sessions(self, org_id: UUID, *, except_session: UUID | None, moment: datetime) -> int:
        """Revoke the login sessions of the organization's members, owners aside: they signed in with a password,
        or may have. Returns how many were revoked."""
        members = select(Membership.user_id).where(Membership.org_id == org_id, Membership.role != Role.OWNER)
        result = await self.session.execute(
            update(AuthSession)
            .where(AuthSession.user_id.in_(members), AuthSession.revoked_at.is_(None))
            .where(AuthSession.id.is_distinct_from(except_session))
            .values(revoked_at=moment, revoked_reason="sso_required")
            .returning(AuthSession.id)
        )
        return self._revoked(list(result.scalars()))

    def _revoked(self, session_ids: list[UUID]) -> int:
        invalidate(self.session, *map(session_tag, session_ids))
        return len(session_ids)
