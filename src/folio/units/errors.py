from __future__ import annotations

from folio.errors import Conflict, FolioError, ValidationFailed


class UnitNotFound(FolioError):
    """No such business unit in your organization; `details.unit_ids` lists the ids that were not found."""

    status_code = 404
    code = "UNIT_NOT_FOUND"
    message = "Business unit not found."


class UnitNameTaken(Conflict):
    """Your organization already has a business unit of this name (names are compared without regard to case)."""

    code = "UNIT_NAME_TAKEN"
    message = "A business unit of this name already exists."


class TooManyUnits(Conflict):
    """The organization has as many business units as allowed (200); delete one first."""

    code = "TOO_MANY_UNITS"
    message = "Your organization has as many business units as allowed."


class UnitMembersNeedReassignment(Conflict):
    """Some members are limited to this business unit alone: deleting it would let them see every unit. Give them
    another unit first (`PUT /api/v1/members/{user_id}/units`); `details.user_ids` lists them (up to 20), and
    `details.count` says how many there are."""

    code = "UNIT_MEMBERS_NEED_REASSIGNMENT"
    message = "Members are limited to this unit alone; give them another unit before deleting it."


class RoleNotRestrictable(ValidationFailed):
    """Owners and admins always see every business unit: they cannot be limited to some."""

    code = "ROLE_NOT_RESTRICTABLE"
    message = "Owners and admins cannot be limited to business units."
