"""Organizations and their members. Owners and admins manage members; only owners touch the owner role."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal, Scope
from folio.errors import Forbidden
from folio.models import Membership, Organization, Role, User
from folio.orgs.errors import AlreadyMember, LastOwner, MemberNotFound, OrgNotFound, UserNotFound
from folio.orgs.repository import OrgRepository
from folio.pagination import PageRequest


def _require_admin(principal: Principal) -> None:
    if not principal.has(Scope.ADMIN):
        raise Forbidden("Only owners and admins can do this.")


def _require_owner_for(principal: Principal, *roles: Role) -> None:
    if Role.OWNER in roles and not principal.at_least(Role.OWNER):
        raise Forbidden("Only owners can grant, change or remove the owner role.")


async def _lock_member(
    repository: OrgRepository, principal: Principal, user_id: UUID
) -> tuple[list[UUID], Membership, User]:
    """The owners' ids and the member, all locked, so two concurrent changes cannot both pass the owner rule."""
    owners = await repository.lock_owner_ids(principal)
    found = await repository.member_for_update(principal, user_id)
    if found is None:
        raise MemberNotFound()
    membership, user = found
    return owners, membership, user


async def create_org(session: AsyncSession, *, name: str, owner_id: UUID, personal: bool = False) -> Organization:
    repository = OrgRepository(session)
    org = Organization(name=name, is_personal=personal)
    await repository.add(org)
    await repository.add(Membership(org_id=org.id, user_id=owner_id, role=Role.OWNER))
    return org


async def principal_in_org(session: AsyncSession, *, principal: Principal, org_id: UUID) -> Principal:
    """The same user acting in another of their organizations; 404 when they are not a member."""
    if org_id == principal.org_id:
        return principal
    if principal.member_id is None:
        raise OrgNotFound()
    role = await OrgRepository(session).role_of(user_id=principal.member_id, org_id=org_id)
    if role is None:
        raise OrgNotFound()
    return Principal.for_member(org_id=org_id, user_id=principal.member_id, role=role, session_id=principal.session_id)


async def is_member(session: AsyncSession, *, org_id: UUID, user_id: UUID) -> bool:
    return await OrgRepository(session).role_of(user_id=user_id, org_id=org_id) is not None


async def get_org(session: AsyncSession, *, principal: Principal) -> Organization:
    org = await OrgRepository(session).get_org(principal)
    if org is None:
        raise OrgNotFound()
    return org


async def page_orgs(
    session: AsyncSession, *, principal: Principal, page: PageRequest
) -> tuple[Sequence[Any], str | None]:
    """The caller's organizations with their role in each; an API key sees only its own."""
    if principal.member_id is None:
        org = await get_org(session, principal=principal)
        return [(org, None)], None
    return await OrgRepository(session).page_orgs_of_user(principal.member_id, page)


async def rename_org(session: AsyncSession, *, principal: Principal, name: str) -> Organization:
    _require_admin(principal)
    org = await get_org(session, principal=principal)
    org.name = name
    await session.flush()
    return org


async def page_members(
    session: AsyncSession, *, principal: Principal, page: PageRequest
) -> tuple[Sequence[Any], str | None]:
    return await OrgRepository(session).page_members(principal, page)


async def add_member(session: AsyncSession, *, principal: Principal, email: str, role: Role) -> tuple[Membership, User]:
    _require_admin(principal)
    _require_owner_for(principal, role)
    repository = OrgRepository(session)
    user = await repository.user_by_email(email.strip().lower())
    if user is None:
        raise UserNotFound()
    if await repository.member_for_update(principal, user.id) is not None:
        raise AlreadyMember()
    membership = Membership(org_id=principal.org_id, user_id=user.id, role=role)
    await repository.add(membership)
    return membership, user


async def change_role(
    session: AsyncSession, *, principal: Principal, user_id: UUID, role: Role
) -> tuple[Membership, User]:
    _require_admin(principal)
    owners, membership, user = await _lock_member(OrgRepository(session), principal, user_id)
    _require_owner_for(principal, membership.role, role)
    if membership.role is Role.OWNER and role is not Role.OWNER and owners == [user_id]:
        raise LastOwner()
    membership.role = role
    await session.flush()
    return membership, user


async def remove_member(session: AsyncSession, *, principal: Principal, user_id: UUID) -> None:
    """Admins remove members; any member signed in as themselves may leave (an API key cannot leave for them)."""
    leaving = user_id == principal.member_id
    if not leaving:
        _require_admin(principal)
    repository = OrgRepository(session)
    owners, membership, _ = await _lock_member(repository, principal, user_id)
    if not leaving:
        _require_owner_for(principal, membership.role)
    if membership.role is Role.OWNER and owners == [user_id]:
        raise LastOwner()
    await repository.remove_member(principal, user_id)


async def create_org_for(session: AsyncSession, *, principal: Principal, name: str) -> Organization:
    if principal.member_id is None:
        raise Forbidden("Only signed-in users can create organizations.")
    return await create_org(session, name=name, owner_id=principal.member_id)


async def get_org_by_id(session: AsyncSession, *, org_id: UUID) -> Organization:
    """For operators (the CLI), who act outside any principal."""
    org = await session.get(Organization, org_id)
    if org is None:
        raise OrgNotFound()
    return org
