"""Business units and the members limited to them.

A member with no unit sees every case; a member limited to some units sees only the cases of those (not those of
another unit, nor those of none), which the repositories of cases, documents, search and summaries enforce from
`Principal.units`. Every member may list the units (their names are what pickers and filters show).

Owners and admins (and `admin` API keys) manage units and anyone's units. A business-unit manager, in person,
manages the units of members ranked below them (viewers, editors, supervisors), within the units they are limited
to themselves: what such a change shows or hides must lie inside their units. So a manager limited to some units
adds or removes only those, and neither limits a member who sees everything nor lifts a member's limit, both of
which change what the member sees of every other unit; a manager limited to no unit manages every unit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.audit.service import AuditAction, audit
from folio.auth.principal import Principal, Scope
from folio.auth.principal_cache import invalidate, org_tag
from folio.errors import Forbidden
from folio.models import BusinessUnit, Membership, Role, User
from folio.orgs.errors import MemberNotFound
from folio.pagination import Paged, PageRequest
from folio.repository import lock_org
from folio.units.errors import (
    RoleNotRestrictable,
    TooManyUnits,
    UnitMembersNeedReassignment,
    UnitNameTaken,
    UnitNotFound,
)
from folio.units.repository import UnitRepository

# Every self-registered user owns an organization: the cap bounds the units one tenant can make, and so how many
# one member can be limited to.
MAX_UNITS_PER_ORG: Final = 200
# How many of the members a unit's deletion would leave without a unit the error names.
_NAMED_MEMBERS = 20
_UNRESTRICTABLE = (Role.OWNER, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class MemberUnits:
    membership: Membership
    units: Sequence[BusinessUnit]


@dataclass(frozen=True, slots=True)
class _Powers:
    """What a principal may change of members' units: the units it manages (None: every one), for members ranked
    below `below` (None: any member)."""

    units: frozenset[UUID] | None
    below: Role | None

    def over(self, membership: Membership) -> bool:
        return self.below is None or membership.role.rank < self.below.rank

    def manages(self, unit_id: UUID) -> bool:
        return self.units is None or unit_id in self.units


def _powers(principal: Principal) -> _Powers:
    if principal.has(Scope.ADMIN):
        return _Powers(units=None, below=None)
    # A manager's API key carries the manager's role, but people are managed in person, as the owner role is.
    if principal.role is Role.BU_MANAGER and principal.member_id is not None:
        return _Powers(units=principal.units, below=Role.BU_MANAGER)
    raise Forbidden("Only owners, admins and business-unit managers (in person) manage members' units.")


async def page_units(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[BusinessUnit]:
    return await UnitRepository(session).page(principal, page)


async def get_unit(
    session: AsyncSession, *, principal: Principal, unit_id: UUID, for_update: bool = False
) -> BusinessUnit:
    """The organization's unit, 404 otherwise. `for_update`: for a change, locked after the organization's unit
    lock, the order every change takes them in."""
    repository = UnitRepository(session)
    if for_update:
        await lock_org(session, principal.org_id)
    unit = await repository.get(principal, unit_id, for_update=for_update)
    if unit is None:
        raise UnitNotFound(details={"unit_ids": [str(unit_id)]})
    return unit


async def create_unit(session: AsyncSession, *, principal: Principal, name: str, description: str) -> BusinessUnit:
    """A new unit (admins: the route requires the `admin` scope)."""
    repository = UnitRepository(session)
    await lock_org(session, principal.org_id)
    if await repository.count(principal) >= MAX_UNITS_PER_ORG:
        raise TooManyUnits(details={"limit": MAX_UNITS_PER_ORG})
    if await repository.name_taken(principal, name):
        raise UnitNameTaken(details={"name": name})
    unit = BusinessUnit(org_id=principal.org_id, name=name, description=description)
    await repository.add(unit)
    await _audit_unit(session, principal, unit, AuditAction.UNIT_CREATED, {"name": name})
    return unit


async def update_unit(
    session: AsyncSession,
    unit: BusinessUnit,
    *,
    principal: Principal,
    name: str | None = None,
    description: str | None = None,
) -> BusinessUnit:
    """Change what is given (None leaves a field as it is); `unit` is locked (`get_unit(for_update=True)`)."""
    changes: dict[str, dict[str, str]] = {}
    if name is not None and name != unit.name:
        if await UnitRepository(session).name_taken(principal, name, other_than=unit.id):
            raise UnitNameTaken(details={"name": name})
        changes["name"] = {"from": unit.name, "to": name}
        unit.name = name
    if description is not None and description != unit.description:
        changes["description"] = {"from": unit.description, "to": description}
        unit.description = description
    if changes:
        await _audit_unit(session, principal, unit, AuditAction.UNIT_UPDATED, changes)
        await session.flush()
    return unit


async def delete_unit(session: AsyncSession, unit: BusinessUnit, *, principal: Principal) -> None:
    """Delete a locked unit: its cases become cases of no unit (which members limited to units do not see), and
    its members lose it. Refused while a member is limited to it alone, whom its deletion would let see
    everything."""
    repository = UnitRepository(session)
    stranded, count = await repository.limited_to_only(unit, limit=_NAMED_MEMBERS)
    if stranded:
        raise UnitMembersNeedReassignment(details={"user_ids": [str(user_id) for user_id in stranded], "count": count})
    details = {"name": unit.name, "cases": await repository.cases_of(unit)}
    await _audit_unit(session, principal, unit, AuditAction.UNIT_DELETED, details)
    await repository.delete(unit)
    # Its members lose it from their units.
    invalidate(session, org_tag(unit.org_id))


async def page_unit_members(
    session: AsyncSession, unit: BusinessUnit, *, principal: Principal, page: PageRequest
) -> Paged[tuple[Membership, User]]:
    """The members limited to `unit`, for admins and the managers of the unit."""
    if not _powers(principal).manages(unit.id):
        raise Forbidden("Only admins and the managers of this business unit list its members.")
    return await UnitRepository(session).page_members(principal, unit.id, page)


async def member_units(session: AsyncSession, *, principal: Principal, user_id: UUID) -> MemberUnits:
    """A member's units, for the member themselves and for whoever may change them."""
    repository = UnitRepository(session)
    membership = await repository.member(principal, user_id)
    if membership is None:
        raise MemberNotFound()
    if principal.user_id != user_id and not _powers(principal).over(membership):
        raise Forbidden("A business-unit manager sees the units of members ranked below them.")
    return MemberUnits(membership, await repository.units_of_member(principal, user_id))


async def set_member_units(
    session: AsyncSession, *, principal: Principal, user_id: UUID, unit_ids: Collection[UUID]
) -> MemberUnits:
    """Limit a member to `unit_ids` (empty: to none, so they see every unit)."""
    powers = _powers(principal)
    repository = UnitRepository(session)
    membership = await repository.member(principal, user_id, for_update=True)
    if membership is None:
        raise MemberNotFound()
    if not powers.over(membership):
        raise Forbidden("A business-unit manager manages the units of members ranked below them.")
    wanted = set(unit_ids)
    if wanted and membership.role in _UNRESTRICTABLE:
        raise RoleNotRestrictable(details={"role": membership.role})
    # Held before any row changes, so a unit deleted meanwhile is waited for and reported, never half-written.
    after = sorted(await repository.hold_units(principal, wanted), key=lambda unit: unit.name.lower())
    if missing := wanted - {unit.id for unit in after}:
        raise UnitNotFound(details={"unit_ids": sorted(str(unit_id) for unit_id in missing)})
    before = await repository.units_of_member(principal, user_id)
    current = {unit.id for unit in before}
    if wanted != current:
        _check_change(powers, current, wanted)
        await repository.set_member_units(principal, user_id, add=wanted - current, remove=current - wanted)
        await _audit_member_units(session, principal, user_id, before, after)
    return MemberUnits(membership, after)


def _check_change(powers: _Powers, current: set[UUID], wanted: set[UUID]) -> None:
    """What the change shows or hides must lie within the units the principal manages. A member with no unit sees
    every unit and the cases of none, so limiting them, or lifting their limit, reaches past any set of units."""
    if powers.units is None:
        return
    if not current or not wanted:
        raise Forbidden(
            "Only a manager of every unit limits a member who sees every unit, or lifts a member's limit.",
        )
    outside = (current ^ wanted) - powers.units
    if outside:
        raise Forbidden(
            "You manage only the business units you are limited to.",
            details={"unit_ids": sorted(str(unit_id) for unit_id in outside)},
        )


async def _audit_unit(
    session: AsyncSession, principal: Principal, unit: BusinessUnit, action: AuditAction, details: Mapping[str, object]
) -> None:
    await audit(
        session,
        org_id=unit.org_id,
        action=action,
        actor=principal,
        target_type="unit",
        target_id=unit.id,
        details=details,
    )


async def _audit_member_units(
    session: AsyncSession,
    principal: Principal,
    user_id: UUID,
    before: Sequence[BusinessUnit],
    after: Sequence[BusinessUnit],
) -> None:
    names_before, names_after = {unit.name for unit in before}, {unit.name for unit in after}
    details = {
        "added": sorted(names_after - names_before),
        "removed": sorted(names_before - names_after),
        "restricted": bool(after),
    }
    await audit(
        session,
        org_id=principal.org_id,
        action=AuditAction.MEMBER_UNITS_CHANGED,
        actor=principal,
        target_type="user",
        target_id=user_id,
        details=details,
    )
