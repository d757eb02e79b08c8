from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import Depends, status

from folio.auth.deps import CurrentPrincipal, authenticated
from folio.auth.sso import service as sso
from folio.auth.sso.errors import SsoIdentityRequired
from folio.deps import API_V1, PageDep, SessionDep, SettingsDep, limit_auth_attempts
from folio.errors import Forbidden
from folio.models import Invitation, Membership, Organization, Role, User
from folio.orgs import service as orgs
from folio.orgs.deps import OrgPrincipal
from folio.orgs.errors import (
    AlreadyMember,
    InvitationNotFound,
    LastOwner,
    MemberNotFound,
    OrgNotFound,
    TooManyInvitations,
)
from folio.orgs.schemas import (
    InvitationCreate,
    InvitationRead,
    InvitingOrg,
    MemberRead,
    MemberUpdate,
    MyInvitationRead,
    OrgCreate,
    OrgRead,
    OrgUpdate,
)
from folio.pagination import Page
from folio.routing import Router

_orgs = Router(prefix=f"{API_V1}/orgs", tags=["orgs"])
# The invitee's side: invitations to the signed-in user's address, whichever organization sent them.
_invitations = Router(prefix=f"{API_V1}/invitations", tags=["orgs"])
# Inviting tells whether an address is already a member, so it counts against the strict per-address limit.
_attempts = [Depends(limit_auth_attempts)]
_INVITE_DESCRIPTION = (
    "Invites an email address; the account holding it (now or once registered) sees the invitation at "
    "`GET /api/v1/invitations` and accepts or declines it. The answer is the same whether or not an account "
    "holds the address. Inviting an address again refreshes its pending invitation. Owners and admins; only "
    "owners invite owners."
)


def _org(org: Organization, role: Role | None) -> OrgRead:
    return OrgRead.model_validate({**OrgRead.model_validate(org).model_dump(), "role": role})


def _member(membership: Membership, user: User) -> MemberRead:
    return MemberRead(
        user_id=user.id, email=user.email, name=user.name, role=membership.role, joined_at=membership.created_at
    )


@_orgs.get(
    "",
    response_model=Page[OrgRead],
    responses=authenticated(),
    summary="List your organizations and your role in each",
)
async def list_orgs(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> Page[OrgRead]:
    found = await orgs.page_orgs(session, principal=principal, page=page)
    return found.to_page(lambda row: _org(*row))


@_orgs.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrgRead,
    responses=authenticated(Forbidden),
    summary="Create an organization you own",
)
async def create_org(body: OrgCreate, principal: CurrentPrincipal, session: SessionDep) -> OrgRead:
    org = await orgs.create_org_for(session, principal=principal, name=body.name)
    return _org(org, Role.OWNER)


@_orgs.get(
    "/{org_id}",
    response_model=OrgRead,
    responses=authenticated(OrgNotFound),
    summary="Get an organization",
)
async def get_org(principal: OrgPrincipal, session: SessionDep) -> OrgRead:
    return _org(await orgs.get_org(session, principal=principal), principal.role)


@_orgs.patch(
    "/{org_id}",
    response_model=OrgRead,
    responses=authenticated(OrgNotFound, Forbidden, SsoIdentityRequired),
    summary="Rename an organization, or require sign-in through a provider (owners and admins)",
)
async def update_org(body: OrgUpdate, principal: OrgPrincipal, session: SessionDep, settings: SettingsDep) -> OrgRead:
    org = await orgs.get_org(session, principal=principal)
    if body.name is not None:
        org = await orgs.rename_org(session, principal=principal, name=body.name)
    if body.require_sso is not None:
        org = await sso.set_require_sso(session, principal=principal, settings=settings.sso, required=body.require_sso)
    return _org(org, principal.role)


@_orgs.get(
    "/{org_id}/members",
    response_model=Page[MemberRead],
    responses=authenticated(OrgNotFound),
    summary="List members",
)
async def list_members(principal: OrgPrincipal, session: SessionDep, page: PageDep) -> Page[MemberRead]:
    members = await orgs.page_members(session, principal=principal, page=page)
    return members.to_page(lambda row: _member(*row))


_INVITE: dict[str, Any] = {
    "status_code": status.HTTP_202_ACCEPTED,
    "response_model": InvitationRead,
    "dependencies": _attempts,
    "responses": authenticated(OrgNotFound, Forbidden, AlreadyMember, TooManyInvitations),
    "description": _INVITE_DESCRIPTION,
}


@_orgs.post("/{org_id}/invitations", summary="Invite someone by email to join", **_INVITE)
async def create_invitation(
    body: InvitationCreate, principal: OrgPrincipal, session: SessionDep, settings: SettingsDep
) -> Invitation:
    return await orgs.invite(session, principal=principal, email=body.email, role=body.role, plans=settings.plans)


@_orgs.post(
    "/{org_id}/members", summary="Invite someone by email (same as POST …/invitations)", deprecated=True, **_INVITE
)
async def add_member(
    body: InvitationCreate, principal: OrgPrincipal, session: SessionDep, settings: SettingsDep
) -> Invitation:
    return await orgs.invite(session, principal=principal, email=body.email, role=body.role, plans=settings.plans)


@_orgs.get(
    "/{org_id}/invitations",
    response_model=Page[InvitationRead],
    responses=authenticated(OrgNotFound, Forbidden),
    summary="List pending invitations (owners and admins)",
)
async def list_invitations(principal: OrgPrincipal, session: SessionDep, page: PageDep) -> Page[InvitationRead]:
    invitations = await orgs.page_invitations(session, principal=principal, page=page)
    return invitations.to_page(InvitationRead.model_validate)


@_orgs.delete(
    "/{org_id}/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(OrgNotFound, Forbidden, InvitationNotFound),
    summary="Revoke a pending invitation (owners and admins; only owners revoke an owner's invitation)",
)
async def revoke_invitation(invitation_id: UUID, principal: OrgPrincipal, session: SessionDep) -> None:
    await orgs.revoke_invitation(session, principal=principal, invitation_id=invitation_id)


@_orgs.patch(
    "/{org_id}/members/{user_id}",
    response_model=MemberRead,
    responses=authenticated(OrgNotFound, Forbidden, MemberNotFound, LastOwner),
    summary="Change a member's role (owners and admins; only owners touch the owner role)",
)
async def update_member(user_id: UUID, body: MemberUpdate, principal: OrgPrincipal, session: SessionDep) -> MemberRead:
    return _member(*await orgs.change_role(session, principal=principal, user_id=user_id, role=body.role))


@_orgs.delete(
    "/{org_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(OrgNotFound, Forbidden, MemberNotFound, LastOwner),
    summary="Remove a member, or leave the organization yourself",
)
async def remove_member(user_id: UUID, principal: OrgPrincipal, session: SessionDep) -> None:
    await orgs.remove_member(session, principal=principal, user_id=user_id)


@_invitations.get(
    "",
    response_model=Page[MyInvitationRead],
    responses=authenticated(Forbidden),
    summary="List pending invitations to your email address",
)
async def list_my_invitations(
    principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[MyInvitationRead]:
    invitations = await orgs.page_my_invitations(session, principal=principal, page=page)
    return invitations.to_page(lambda row: _my_invitation(*row))


@_invitations.post(
    "/{invitation_id}/accept",
    response_model=OrgRead,
    responses=authenticated(Forbidden, InvitationNotFound, AlreadyMember),
    summary="Accept an invitation: join the organization with the role it offers",
)
async def accept_invitation(
    invitation_id: UUID, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> OrgRead:
    return _org(
        *await orgs.accept_invitation(session, principal=principal, invitation_id=invitation_id, plans=settings.plans)
    )


@_invitations.post(
    "/{invitation_id}/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, InvitationNotFound),
    summary="Decline an invitation",
)
async def decline_invitation(invitation_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> None:
    await orgs.decline_invitation(session, principal=principal, invitation_id=invitation_id)


def _my_invitation(invitation: Invitation, org: Organization) -> MyInvitationRead:
    return MyInvitationRead(
        id=invitation.id,
        org=InvitingOrg.model_validate(org),
        role=invitation.role,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


# Included last: a router copies the routes it includes at that moment.
router = Router()
router.include_router(_orgs)
router.include_router(_invitations)
