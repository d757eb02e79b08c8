"""Organizations and their members. Owners and admins manage members; only owners touch the owner role.

Nobody is added to an organization without consent: admins invite an email address, and the account holding it
accepts. Inviting answers the same whether or not the address has an account.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.audit.service import AuditAction, audit

# The repository, not keys_service: auth.service imports this module, and the layers keep it apart from keys_service.
from folio.auth.keys_repository import ApiKeyRepository
from folio.auth.members import member_principal
from folio.auth.principal import Principal, Scope
from folio.auth.principal_cache import invalidate, member_tag, org_tag
from folio.auth.sso.repository import SsoRepository
from folio.errors import Forbidden
from folio.events.outbox import actor_of, emit
from folio.events.schemas import EventType, MemberData
from folio.models import Invitation, InvitationStatus, Membership, Organization, Role, User
from folio.orgs.errors import (
    AlreadyMember,
    InvitationNotFound,
    LastOwner,
    MemberNotFound,
    OrgNotFound,
    TooManyInvitations,
)
from folio.orgs.repository import OrgRepository
from folio.pagination import Paged, PageRequest
from folio.plans import service as plans_service
from folio.repository import lock_org
from folio.settings import PlanSettings

INVITATION_TTL = timedelta(days=7)
# Every self-registered user owns an organization, so the cap is what bounds the rows one tenant can make.
MAX_PENDING_INVITATIONS = 100


def _require_admin(principal: Principal) -> None:
    if not principal.has(Scope.ADMIN):
        raise Forbidden("Only owners and admins can do this.")


def _require_owner_for(principal: Principal, *roles: Role) -> None:
    # An owner's API key carries its creator's role, but only an owner in person hands the role on.
    if Role.OWNER in roles and (principal.member_id is None or not principal.at_least(Role.OWNER)):
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
    found = await member_principal(session, org_id=org_id, user_id=principal.member_id, session_id=principal.session_id)
    if found is None:
        raise OrgNotFound()
    return found


async def is_member(session: AsyncSession, *, org_id: UUID, user_id: UUID) -> bool:
    return await OrgRepository(session).role_of(user_id=user_id, org_id=org_id) is not None


async def get_org(session: AsyncSession, *, principal: Principal) -> Organization:
    org = await OrgRepository(session).get_org(principal)
    if org is None:
        raise OrgNotFound()
    return org


async def page_orgs(
    session: AsyncSession, *, principal: Principal, page: PageRequest
) -> Paged[tuple[Organization, Role | None]]:
    """The caller's organizations with their role in each; an API key sees only its own."""
    if principal.member_id is None:
        org = await get_org(session, principal=principal)
        return Paged([(org, None)], None)
    return await OrgRepository(session).page_orgs_of_user(principal.member_id, page)


async def rename_org(session: AsyncSession, *, principal: Principal, name: str) -> Organization:
    _require_admin(principal)
    org = await get_org(session, principal=principal)
    previous, org.name = org.name, name
    invalidate(session, org_tag(org.id))  # /auth/me shows the name
    await audit(
        session,
        org_id=org.id,
        action=AuditAction.ORG_UPDATED,
        actor=principal,
        target_type="organization",
        target_id=org.id,
        details={"name": {"from": previous, "to": name}},
    )
    await session.flush()
    return org


async def page_members(
    session: AsyncSession, *, principal: Principal, page: PageRequest
) -> Paged[tuple[Membership, User]]:
    return await OrgRepository(session).page_members(principal, page)


async def invite(
    session: AsyncSession, *, principal: Principal, email: str, role: Role, plans: PlanSettings
) -> Invitation:
    """Invite an address, or refresh its open invitation (new role, new expiry). Whether an account holds the
    address is never consulted, so the answer cannot tell. With `plans` enforced, a new invitation counts as a
    member against the plan's members."""
    _require_admin(principal)
    _require_owner_for(principal, role)
    repository = OrgRepository(session)
    email = email.strip().lower()
    now = datetime.now(UTC)
    await lock_org(session, principal.org_id)
    if await repository.has_member_with_email(principal, email):
        raise AlreadyMember()  # members are listed to every member: this tells nothing new
    invitation = await repository.pending_invitation_for_update(principal, email)
    if invitation is not None:
        _require_owner_for(principal, invitation.role)
    if (invitation is None or invitation.expires_at <= now) and await repository.count_pending(
        principal, now
    ) >= MAX_PENDING_INVITATIONS:
        raise TooManyInvitations(details={"limit": MAX_PENDING_INVITATIONS})
    if invitation is None or invitation.expires_at <= now:
        await plans_service.check_can_add_member(session, plans=plans, org_id=principal.org_id, inviting=True, now=now)
    expires_at = now + INVITATION_TTL
    if invitation is None:
        invitation = Invitation(
            org_id=principal.org_id, email=email, role=role, invited_by=principal.member_id, expires_at=expires_at
        )
        await repository.add(invitation)
    else:
        invitation.role, invitation.invited_by, invitation.expires_at = role, principal.member_id, expires_at
        await session.flush()
    await _audit_invitation(session, principal, invitation.org_id, AuditAction.INVITATION_CREATED, invitation)
    return invitation


async def page_invitations(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[Invitation]:
    """The organization's pending invitations (admins: the addresses are personal data)."""
    _require_admin(principal)
    return await OrgRepository(session).page_pending(principal, page, datetime.now(UTC))


async def revoke_invitation(session: AsyncSession, *, principal: Principal, invitation_id: UUID) -> None:
    _require_admin(principal)
    now = datetime.now(UTC)
    invitation = await OrgRepository(session).invitation_for_update(principal, invitation_id, now)
    if invitation is None:
        raise InvitationNotFound()
    _require_owner_for(principal, invitation.role)
    _close(invitation, InvitationStatus.REVOKED, now)
    await _audit_invitation(session, principal, invitation.org_id, AuditAction.INVITATION_REVOKED, invitation)
    await session.flush()


async def page_my_invitations(
    session: AsyncSession, *, principal: Principal, page: PageRequest
) -> Paged[tuple[Invitation, Organization]]:
    """Pending invitations to the signed-in user's address, with their organizations."""
    repository = OrgRepository(session)
    _, email = await _invitee(repository, principal)
    return await repository.page_invitations_to(email, page, datetime.now(UTC))


async def accept_invitation(
    session: AsyncSession, *, principal: Principal, invitation_id: UUID, plans: PlanSettings
) -> tuple[Organization, Role]:
    """Join the invitation's organization; with `plans` enforced, refused when its members already fill the plan (it
    was moved to a smaller one since the invitation). An organization that requires sign-in through a provider
    ends the joining member's sessions, this one included: they may have begun with a password, and the member
    signs in again through the provider (owners aside, as when it is turned on)."""
    repository = OrgRepository(session)
    user_id, invitation, now = await _own_invitation(repository, principal, invitation_id)
    if await repository.role_of(user_id=user_id, org_id=invitation.org_id) is not None:
        raise AlreadyMember()
    await plans_service.check_can_add_member(session, plans=plans, org_id=invitation.org_id, inviting=False, now=now)
    await repository.add(Membership(org_id=invitation.org_id, user_id=user_id, role=invitation.role))
    _close(invitation, InvitationStatus.ACCEPTED, now)
    _emit_member(
        session, principal, invitation.org_id, EventType.MEMBER_ADDED, user_id, invitation.email, invitation.role
    )
    await _audit_invitation(session, principal, invitation.org_id, AuditAction.INVITATION_ACCEPTED, invitation)
    await session.flush()
    org = await get_org_by_id(session, org_id=invitation.org_id)
    if org.require_sso and invitation.role is not Role.OWNER:
        await SsoRepository(session).revoke_user_sessions(user_id, moment=now)
    return org, invitation.role


async def decline_invitation(session: AsyncSession, *, principal: Principal, invitation_id: UUID) -> None:
    _, invitation, now = await _own_invitation(OrgRepository(session), principal, invitation_id)
    _close(invitation, InvitationStatus.DECLINED, now)
    await session.flush()


async def _invitee(repository: OrgRepository, principal: Principal) -> tuple[UUID, str]:
    """The signed-in user and their address; invitations are theirs to answer, not an API key's."""
    user_id = principal.member_id
    email = await repository.email_of(user_id) if user_id is not None else None
    if user_id is None or email is None:
        raise Forbidden("Invitations are answered by users signed in as themselves, not by API keys.")
    return user_id, email


async def _own_invitation(
    repository: OrgRepository, principal: Principal, invitation_id: UUID
) -> tuple[UUID, Invitation, datetime]:
    user_id, email = await _invitee(repository, principal)
    now = datetime.now(UTC)
    invitation = await repository.invitation_to_for_update(email, invitation_id, now)
    if invitation is None:
        raise InvitationNotFound()
    return user_id, invitation, now


def _close(invitation: Invitation, status: InvitationStatus, now: datetime) -> None:
    invitation.status = status
    invitation.closed_at = now


async def change_role(
    session: AsyncSession, *, principal: Principal, user_id: UUID, role: Role
) -> tuple[Membership, User]:
    _require_admin(principal)
    owners, membership, user = await _lock_member(OrgRepository(session), principal, user_id)
    _require_owner_for(principal, membership.role, role)
    if membership.role is Role.OWNER and role is not Role.OWNER and owners == [user_id]:
        raise LastOwner()
    previous, membership.role = membership.role, role
    invalidate(session, member_tag(principal.org_id, user_id))
    if role.rank >= Role.ADMIN.rank:
        # Admins and owners see every unit: a limit kept from a lesser role would not hold.
        await OrgRepository(session).clear_units(org_id=principal.org_id, user_id=user_id)
    _emit_member(session, principal, principal.org_id, EventType.MEMBER_ROLE_CHANGED, user_id, user.email, role)
    await audit(
        session,
        org_id=principal.org_id,
        action=AuditAction.MEMBER_ROLE_CHANGED,
        actor=principal,
        target_type="user",
        target_id=user_id,
        details={"email": user.email, "role": {"from": previous, "to": role}},
    )
    await session.flush()
    return membership, user


async def remove_member(session: AsyncSession, *, principal: Principal, user_id: UUID) -> None:
    """Admins remove members; any member signed in as themselves may leave (an API key cannot leave for them)."""
    leaving = user_id == principal.member_id
    if not leaving:
        _require_admin(principal)
    repository = OrgRepository(session)
    owners, membership, user = await _lock_member(repository, principal, user_id)
    if not leaving:
        _require_owner_for(principal, membership.role)
    if membership.role is Role.OWNER and owners == [user_id]:
        raise LastOwner()
    await repository.remove_member(principal, user_id)
    # For good: neither their keys nor their open invitations come back if they are invited again.
    await ApiKeyRepository(session).revoke_created_by(org_id=principal.org_id, user_id=user_id, at=datetime.now(UTC))
    await repository.revoke_invitations_by(principal, user_id, datetime.now(UTC))
    _emit_member(session, principal, principal.org_id, EventType.MEMBER_REMOVED, user_id, user.email, None)
    await audit(
        session,
        org_id=principal.org_id,
        action=AuditAction.MEMBER_REMOVED,
        actor=principal,
        target_type="user",
        target_id=user_id,
        details={"email": user.email, "role": membership.role, "left": leaving},
    )


async def _audit_invitation(
    session: AsyncSession, principal: Principal, org_id: UUID, action: AuditAction, invitation: Invitation
) -> None:
    details = {"email": invitation.email, "role": invitation.role, "expires_at": invitation.expires_at}
    await audit(
        session,
        org_id=org_id,
        action=action,
        actor=principal,
        target_type="invitation",
        target_id=invitation.id,
        details=details,
    )


def _emit_member(
    session: AsyncSession,
    principal: Principal,
    org_id: UUID,
    type: EventType,
    user_id: UUID,
    email: str,
    role: Role | None,
) -> None:
    data = MemberData(user_id=user_id, email=email, role=role)
    emit(
        session,
        org_id=org_id,
        type=type,
        subject_id=user_id,
        data=data,
        actor=actor_of(principal),
    )


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
