from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from folio.auth.deps import CurrentPrincipal
from folio.auth.principal import Principal
from folio.deps import SessionDep
from folio.orgs import service as orgs


async def org_principal(org_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> Principal:
    """The caller acting in the organization of the path; 404 when it is not one of theirs."""
    return await orgs.principal_in_org(session, principal=principal, org_id=org_id)


OrgPrincipal = Annotated[Principal, Depends(org_principal)]
