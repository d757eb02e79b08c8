from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime

from folio.audit import service as audit
from folio.audit.repository import AuditFilter
from folio.audit.schemas import AuditEntryRead
from folio.audit.service import AuditAction
from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.pagination import Page
from folio.routing import Router

router = Router(prefix=f"{API_V1}/audit", tags=["audit"])
Admin = Annotated[Principal, requires(Scope.ADMIN)]

_DESCRIPTION = """The organization's security-relevant events, newest first: logins and failed logins, logouts and
revoked sessions, API keys created and revoked, invitations, role changes and removals, organization, language-model
and webhook settings changed, business units, share links. Owners, admins and `admin` API keys only.

The log is append-only: there is no route to change or delete an entry, and the database refuses UPDATE, TRUNCATE
and DELETE of entries younger than 30 days, from the server's own connections too. Entries older than
`FOLIO_AUDIT__RETENTION_DAYS` are deleted hourly.

Filters combine (all must hold): `action` (repeat it for several), `actor_user_id`, `target_type` and `target_id`,
and `from` (inclusive) to `to` (exclusive), with a time zone. Pages follow `next_cursor` to older entries."""


@router.get(
    "",
    response_model=Page[AuditEntryRead],
    responses=authenticated(Forbidden),
    summary="Read the audit log (owners and admins)",
    description=_DESCRIPTION,
)
async def list_audit_entries(
    principal: Admin,
    session: SessionDep,
    page: PageDep,
    action: Annotated[
        list[AuditAction] | None,
        Query(
            max_length=len(AuditAction),
            description="Only these actions; repeat for several (`action=auth.login&action=auth.login_failed`).",
            examples=[["auth.login_failed"]],
        ),
    ] = None,
    actor_user_id: Annotated[
        UUID | None, Query(description="Only what this user did (themselves, or through their API keys).")
    ] = None,
    target_type: Annotated[
        str | None,
        Query(
            max_length=32, pattern=r"^[a-z_]+$", description="Only actions on this kind of thing.", examples=["user"]
        ),
    ] = None,
    target_id: Annotated[str | None, Query(max_length=64, description="Only actions on this one.")] = None,
    since: Annotated[
        AwareDatetime | None, Query(alias="from", description="Entries written at or after this time.")
    ] = None,
    until: Annotated[AwareDatetime | None, Query(alias="to", description="Entries written before this time.")] = None,
) -> Page[AuditEntryRead]:
    if since is not None and until is not None and since >= until:
        raise RequestValidationError(
            [{"loc": ("query", "to"), "msg": "`to` must be later than `from`.", "type": "empty_range"}]
        )
    where = AuditFilter(
        actions=[each.value for each in action or ()],
        actor_user_id=actor_user_id,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
    )
    entries = await audit.page_entries(session, principal=principal, page=page, where=where)
    return entries.to_page(AuditEntryRead.of)
