"""Who has an inbox: a member acting in person, with the `inbox` scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from folio.auth.deps import requires
from folio.auth.principal import Principal, Scope
from folio.errors import Forbidden


async def inbox_owner(principal: Annotated[Principal, requires(Scope.INBOX)]) -> Principal:
    """An API key acts for its creator but is not them: it may not read or change their notifications."""
    if principal.member_id is None:
        raise Forbidden("An inbox is read by its member in person; API keys have none.")
    return principal


InboxOwner = Annotated[Principal, Depends(inbox_owner)]
