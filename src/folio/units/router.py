from __future__ import annotations

from uuid import UUID

from fastapi import status

from folio.auth.deps import CurrentPrincipal, authenticated
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.models import BusinessUnit, Membership, User
from folio.orgs.errors import MemberNotFound
from folio.pagination import Page
from folio.routing import Router
from folio.units import service
from folio.units.deps import Admin, LockedUnit, ReadableUnit
from folio.units.errors import (
    RoleNotRestrictable,
    TooManyUnits,
    UnitMembersNeedReassignment,
    UnitNameTaken,
    UnitNotFound,
)
from folio.units.schemas import (
    MemberUnitsRead,
    MemberUnitsUpdate,
    UnitCreate,
    UnitMemberRead,
    UnitRead,
    UnitSummary,
    UnitUpdate,
)

_units = Router(prefix=f"{API_V1}/units", tags=["units"])
_members = Router(prefix=f"{API_V1}/members", tags=["units"])

_RESTRICTION = (
    "A member limited to some units sees only the cases of those units (not those of another unit, nor those of "
    "no unit) in every route: case lists and lookups, documents, search, answers, summaries, the feed, live "
    "events, alerts, the inbox and exports. A member limited to none sees every case."
)
_MANAGERS = (
    "Owners, admins and `admin` API keys set anyone's units but cannot limit owners or admins. A `bu_manager`, in "
    "person, sets the units of viewers, editors and supervisors, adding or removing only the units they are "
    "limited to themselves; only a manager limited to no unit (or an admin) limits a member who sees every unit, "
    "or lifts a member's limit."
)


def _unit_member(membership: Membership, user: User) -> UnitMemberRead:
    return UnitMemberRead(user_id=user.id, email=user.email, name=user.name, role=membership.role)


def _member_units(found: service.MemberUnits) -> MemberUnitsRead:
    return MemberUnitsRead(
        user_id=found.membership.user_id,
        role=found.membership.role,
        restricted=bool(found.units),
        units=[UnitSummary.model_validate(unit) for unit in found.units],
    )


@_units.get(
    "",
    response_model=Page[UnitRead],
    responses=authenticated(),
    summary="List the organization's business units (any member)",
    description="Every unit, in the order they were made, for any member or API key of the organization: members "
    "limited to some units see every unit's name too (pickers and filters need them), though only the cases of "
    "their own.",
)
async def list_units(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> Page[UnitRead]:
    units = await service.page_units(session, principal=principal, page=page)
    return units.to_page(UnitRead.model_validate)


@_units.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UnitRead,
    responses=authenticated(Forbidden, UnitNameTaken, TooManyUnits),
    summary="Create a business unit (owners and admins)",
    description="Names are unique in the organization without regard to case; an organization has at most "
    f"{service.MAX_UNITS_PER_ORG} units. Imported record rows whose `business_unit` names a unit (without regard "
    "to case) become cases of that unit.",
)
async def create_unit(body: UnitCreate, principal: Admin, session: SessionDep) -> BusinessUnit:
    return await service.create_unit(session, principal=principal, name=body.name, description=body.description)


@_units.get(
    "/{unit_id}",
    response_model=UnitRead,
    responses=authenticated(UnitNotFound),
    summary="Get a business unit (any member)",
)
async def get_unit(unit: ReadableUnit) -> BusinessUnit:
    return unit


@_units.patch(
    "/{unit_id}",
    response_model=UnitRead,
    responses=authenticated(Forbidden, UnitNotFound, UnitNameTaken),
    summary="Rename a business unit or change its description (owners and admins)",
)
async def update_unit(body: UnitUpdate, unit: LockedUnit, principal: Admin, session: SessionDep) -> BusinessUnit:
    return await service.update_unit(session, unit, principal=principal, name=body.name, description=body.description)


@_units.delete(
    "/{unit_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, UnitNotFound, UnitMembersNeedReassignment),
    summary="Delete a business unit (owners and admins)",
    description="Its cases stay, as cases of no unit (which members limited to units no longer see), and members "
    "limited to it and to other units keep the others. Refused with 409 `UNIT_MEMBERS_NEED_REASSIGNMENT` while a "
    "member is limited to this unit alone, since deleting it would let them see every case: give them another unit "
    "first (`PUT /api/v1/members/{user_id}/units`).",
)
async def delete_unit(unit: LockedUnit, principal: Admin, session: SessionDep) -> None:
    await service.delete_unit(session, unit, principal=principal)


@_units.get(
    "/{unit_id}/members",
    response_model=Page[UnitMemberRead],
    responses=authenticated(Forbidden, UnitNotFound),
    summary="List the members limited to a business unit (admins and the unit's managers)",
    description="The members limited to this unit (perhaps among others), in user id order. Members limited to no "
    "unit see its cases too and are not listed. Owners, admins, `admin` API keys, and `bu_manager`s in person who "
    "are limited to this unit or to none.",
)
async def list_unit_members(
    unit: ReadableUnit, principal: CurrentPrincipal, session: SessionDep, page: PageDep
) -> Page[UnitMemberRead]:
    members = await service.page_unit_members(session, unit, principal=principal, page=page)
    return members.to_page(lambda row: _unit_member(*row))


@_members.get(
    "/{user_id}/units",
    response_model=MemberUnitsRead,
    responses=authenticated(Forbidden, MemberNotFound),
    summary="The business units a member is limited to",
    description=f"For the member themselves, and for whoever may change them. {_RESTRICTION}",
)
async def get_member_units(user_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> MemberUnitsRead:
    return _member_units(await service.member_units(session, principal=principal, user_id=user_id))


@_members.put(
    "/{user_id}/units",
    response_model=MemberUnitsRead,
    responses=authenticated(Forbidden, MemberNotFound, UnitNotFound, RoleNotRestrictable),
    summary="Limit a member to some business units, or to none",
    description=f"Replaces the member's units with `unit_ids`; an empty list lifts the limit. {_RESTRICTION} "
    f"{_MANAGERS} The change holds from the member's next request and is recorded in the audit log "
    "(`member.units_changed`); no live event is sent.",
)
async def set_member_units(
    user_id: UUID, body: MemberUnitsUpdate, principal: CurrentPrincipal, session: SessionDep
) -> MemberUnitsRead:
    found = await service.set_member_units(session, principal=principal, user_id=user_id, unit_ids=body.unit_ids)
    return _member_units(found)


# Included last: a router copies the routes it includes at that moment.
router = Router()
router.include_router(_units)
router.include_router(_members)
