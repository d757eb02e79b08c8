"""SQL for API keys. Every statement starts from `scoped(principal)`, except the lookup by secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from uuid import UUID

from sqlalchemy import Select, bindparam, select, update

from folio.auth.identity import OrgCard, UserCard
from folio.auth.principal import Principal, Scope
from folio.models import ApiKey, Membership, Organization, Role, User
from folio.repository import ScopedRepository, restriction, units_of

# Writing last_used_at on every request would turn each read into a write; a minute is precise enough.
_LAST_USED_PRECISION = timedelta(minutes=1)


# Built once: a request with a key that is not cached runs it, and rebuilding the statement costs more than
# executing it.
_BY_SECRET_HASH = (
    select(
        ApiKey,
        Membership.role,
        User.is_active,
        units_of(Membership.org_id, Membership.user_id),
        User.email,
        User.name,
        User.created_at,
        Organization.name,
    )
    .join(Organization, Organization.id == ApiKey.org_id)
    .outerjoin(Membership, (Membership.org_id == ApiKey.org_id) & (Membership.user_id == ApiKey.created_by))
    .outerjoin(User, User.id == ApiKey.created_by)
    .where(ApiKey.secret_hash == bindparam("secret_hash"))
)


class KeyOwner(NamedTuple):
    key: ApiKey
    creator_role: Role | None
    creator_active: bool
    creator_units: frozenset[UUID] | None
    creator: UserCard | None
    org: OrgCard


class ApiKeyRepository(ScopedRepository[ApiKey]):
    model = ApiKey

    def scoped(self, principal: Principal) -> Select[ApiKey]:
        """Live keys only: admins see the organization's, others their own (a key itself)."""
        statement = super().scoped(principal).where(ApiKey.revoked_at.is_(None))
        if principal.has(Scope.ADMIN):
            return statement
        if principal.api_key_id is not None:
            return statement.where(ApiKey.id == principal.api_key_id)
        return statement.where(ApiKey.created_by == principal.member_id)

    async def by_secret_hash(self, secret_hash: str) -> KeyOwner | None:
        row = (await self.session.execute(_BY_SECRET_HASH, {"secret_hash": secret_hash})).first()
        if row is None:
            return None
        key: ApiKey = row[0]
        creator = None
        if key.created_by is not None and row[4] is not None:
            creator = UserCard(id=key.created_by, email=row[4], name=row[5], created_at=row[6])
        return KeyOwner(
            key=key,
            creator_role=row[1],
            creator_active=bool(row[2]),
            creator_units=restriction(row[3]),
            creator=creator,
            org=OrgCard(id=key.org_id, name=row[7]),
        )

    async def revoke_created_by(self, *, org_id: UUID, user_id: UUID, at: datetime) -> int:
        result = await self.session.execute(
            update(ApiKey)
            .where(ApiKey.org_id == org_id, ApiKey.created_by == user_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE

    async def touch(self, key: ApiKey) -> None:
        now = datetime.now(UTC)
        if key.last_used_at is None or now - key.last_used_at > _LAST_USED_PRECISION:
            await self.session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
