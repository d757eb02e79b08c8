from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Body, Request, status
from fastapi.openapi.models import Example

from folio.auth.deps import authenticated, requires
from folio.auth.errors import ExpiryInPast, WeakPassword
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.models import ShareItemType, ShareLink
from folio.pagination import Page
from folio.routing import Router
from folio.shares.errors import (
    ShareItemNotFound,
    ShareItemNotReady,
    ShareLinkNotAllowed,
    ShareLinkNotFound,
    TooManyShareLinks,
)
from folio.shares.links import service
from folio.shares.links.schemas import DEFAULT_DAYS, AccessRead, LinkCreate, LinkCreated, LinkRead

router = Router(prefix=f"{API_V1}/shares/links", tags=["shares"])
Publisher = Annotated[Principal, requires(Scope.SHARES, Scope.DOCUMENTS_READ)]
Manager = Annotated[Principal, requires(Scope.SHARES)]

_EXAMPLES: dict[str, Example] = {
    "document": {
        "summary": "A document for three days",
        "value": {"item_type": "document", "item_id": "0193a5c2-7d1e-7c3a-9f10-4b5e6a7b8c9d", "expires_in_days": 3},
    },
    "summary": {
        "summary": "A summary, with a password, until a date",
        "value": {
            "item_type": "summary",
            "item_id": "0193a5c2-7d1e-7c3a-9f10-4b5e6a7b8c9e",
            "expires_at": "2027-01-31T18:00:00Z",
            "password": "correct horse battery",
        },
    },
}


def _read(link: ShareLink) -> LinkRead:
    return LinkRead(
        id=link.id,
        item_type=link.item_type,
        item_id=link.item_id,
        created_by=link.created_by,
        status=service.status_of(link, service.now()),
        expires_at=link.expires_at,
        revoked_at=link.revoked_at,
        password_protected=link.password_hash is not None,
        locked_until=link.locked_until,
        created_at=link.created_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=LinkCreated,
    responses=authenticated(
        Forbidden,
        ShareItemNotFound,
        ShareItemNotReady,
        ShareLinkNotAllowed,
        TooManyShareLinks,
        ExpiryInPast,
        WeakPassword,
    ),
    summary="Publish a document or a summary by a public link (its token is returned only here)",
    description=(
        "Anyone holding the URL reads the item, read-only and without an account, until the link expires "
        f"(`expires_in_days`, {DEFAULT_DAYS} by default, at most 90; or `expires_at`) or is revoked; with "
        "`password`, only those who also send it in `X-Share-Password`. The link reads the item as you: it shows "
        "nothing you could not read, and dies if you leave the organization or the item is deleted. Cases and "
        "their summaries are never published (422 `SHARE_LINK_NOT_ALLOWED`)."
    ),
)
async def create_link(
    body: Annotated[LinkCreate, Body(openapi_examples=_EXAMPLES)],
    principal: Publisher,
    session: SessionDep,
    request: Request,
) -> LinkCreated:
    link, token = await service.create_link(
        session,
        principal=principal,
        item_type=ShareItemType(body.item_type),
        item_id=body.item_id,
        expires_at=body.expires_at,
        expires_in_days=body.expires_in_days or DEFAULT_DAYS,
        password=body.password,
    )
    url = str(request.url_for("open_share_link", token=token))
    return LinkCreated(**_read(link).model_dump(), token=token, url=url)


@router.get(
    "",
    response_model=Page[LinkRead],
    responses=authenticated(Forbidden),
    summary="List links, oldest first (admins: the organization's; others: their own)",
)
async def list_links(principal: Manager, session: SessionDep, page: PageDep) -> Page[LinkRead]:
    links = await service.page_links(session, principal=principal, page=page)
    return links.to_page(_read)


@router.delete(
    "/{link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, ShareLinkNotFound),
    summary="Revoke a link (its maker, or an admin): it answers 404 from now on",
)
async def revoke_link(link_id: UUID, principal: Manager, session: SessionDep) -> None:
    await service.revoke_link(session, principal=principal, link_id=link_id)


@router.get(
    "/{link_id}/accesses",
    response_model=Page[AccessRead],
    responses=authenticated(Forbidden, ShareLinkNotFound),
    summary="A link's access log, newest first",
    description=f"Every visit with the link's token, served or refused, with its address and User-Agent; a link "
    f"keeps its newest {service.MAX_ACCESSES_PER_LINK}.",
)
async def list_accesses(link_id: UUID, principal: Manager, session: SessionDep, page: PageDep) -> Page[AccessRead]:
    accesses = await service.page_accesses(session, principal=principal, link_id=link_id, page=page)
    return accesses.to_page(AccessRead.model_validate)
