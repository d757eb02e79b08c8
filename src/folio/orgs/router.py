from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status

from folio.auth.deps import CurrentPrincipal, authenticated
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.models import Membership, Organization, Role, User
from folio.orgs import service as orgs
from folio.orgs.deps import OrgPrincipal
from folio.orgs.errors import AlreadyMember, LastOwner, MemberNotFound, OrgNotFound, UserNotFound
from folio.orgs.schemas import MemberAdd, MemberRead, MemberUpdate, OrgCreate, OrgRead, OrgUpdate
from folio.pagination import Page

router = APIRouter(prefix=f"{API_V1}/orgs", tags=["orgs"])


def _org(org: Organization, role: Role | None) -> OrgRead:
    return OrgRead.model_validate({**OrgRead.model_validate(org).model_dump(), "role": role})


def _member(membership: Membership, user: User) -> MemberRead:
    return MemberRead(
        user_id=user.id, email=user.email, name=user.name, role=membership.role, joined_at=membership.created_at
    )


@router.get(
    "",
    response_model=Page[OrgRead],
    responses=authenticated(),
    summary="List your organizations and your role in each",
)
async def list_orgs(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> Page[OrgRead]:
    rows, next_cursor = await orgs.page_orgs(session, principal=principal, page=page)
    return Page(items=[_org(row[0], row[1]) for row in rows], next_cursor=next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrgRead,
    responses=authenticated(Forbidden),
    summary="Create an organization you own",
)
async def create_org(body: OrgCreate, principal: CurrentPrincipal, session: SessionDep) -> OrgRead:
    org = await orgs.create_org_for(session, principal=principal, name=body.name)
    return _org(org, Role.OWNER)


@router.get(
    "/{org_id}",
    response_model=OrgRead,
    responses=authenticated(OrgNotFound),
    summary="Get an organization",
)
async def get_org(principal: OrgPrincipal, session: SessionDep) -> OrgRead:
    return _org(await orgs.get_org(session, principal=principal), principal.role)


@router.patch(
    "/{org_id}",
    response_model=OrgRead,
    responses=authenticated(OrgNotFound, Forbidden),
    summary="Rename an organization (owners and admins)",
)
async def update_org(body: OrgUpdate, principal: OrgPrincipal, session: SessionDep) -> OrgRead:
    org = await orgs.get_org(session, principal=principal)
    if body.name is not None:
        org = await orgs.rename_org(session, principal=principal, name=body.name)
    return _org(org, principal.role)


@router.get(
    "/{org_id}/members",
    response_model=Page[MemberRead],
    responses=authenticated(OrgNotFound),
    summary="List members",
)
async def list_members(principal: OrgPrincipal, session: SessionDep, page: PageDep) -> Page[MemberRead]:
    rows, next_cursor = await orgs.page_members(session, principal=principal, page=page)
    return Page(items=[_member(row[0], row[1]) for row in rows], next_cursor=next_cursor)


@router.post(
    "/{org_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberRead,
    responses=authenticated(OrgNotFound, Forbidden, UserNotFound, AlreadyMember),
    summary="Add an existing user by email (owners and admins)",
)
async def add_member(body: MemberAdd, principal: OrgPrincipal, session: SessionDep) -> MemberRead:
    return _member(*await orgs.add_member(session, principal=principal, email=body.email, role=body.role))


@router.patch(
    "/{org_id}/members/{user_id}",
    response_model=MemberRead,
    responses=authenticated(OrgNotFound, Forbidden, MemberNotFound, LastOwner),
    summary="Change a member's role (owners and admins; only owners touch the owner role)",
)
async def update_member(user_id: UUID, body: MemberUpdate, principal: OrgPrincipal, session: SessionDep) -> MemberRead:
    return _member(*await orgs.change_role(session, principal=principal, user_id=user_id, role=body.role))


@router.delete(
    "/{org_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(OrgNotFound, Forbidden, MemberNotFound, LastOwner),
    summary="Remove a member, or leave the organization yourself",
)
async def remove_member(user_id: UUID, principal: OrgPrincipal, session: SessionDep) -> None:
    await orgs.remove_member(session, principal=principal, user_id=user_id)
