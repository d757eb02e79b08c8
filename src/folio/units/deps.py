"""Who manages units (owners, admins and `admin` keys), and the unit of the path loaded once."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from folio.auth.deps import CurrentPrincipal, requires
from folio.auth.principal import Principal, Scope
from folio.deps import SessionDep
from folio.models import BusinessUnit
from folio.units import service

Admin = Annotated[Principal, requires(Scope.ADMIN)]


async def readable_unit(unit_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> BusinessUnit:
    """The organization's unit; 404 for another organization's id, as for one that does not exist."""
    return await service.get_unit(session, principal=principal, unit_id=unit_id)


async def locked_unit(unit_id: UUID, principal: Admin, session: SessionDep) -> BusinessUnit:
    """The unit, locked until the request commits, for an admin's change."""
    return await service.get_unit(session, principal=principal, unit_id=unit_id, for_update=True)


ReadableUnit = Annotated[BusinessUnit, Depends(readable_unit)]
LockedUnit = Annotated[BusinessUnit, Depends(locked_unit)]
