from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, status
from fastapi.responses import RedirectResponse

from folio.answers.schemas import ChatDetail
from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.cases.views.schemas import ViewRead
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.pagination import Page
from folio.routing import Router
from folio.shares import service
from folio.shares.errors import (
    RecipientCannotSee,
    RecipientNotMember,
    ShareItemNotFound,
    ShareNotFound,
    TooManyShares,
)
from folio.shares.schemas import ShareCreate, ShareRead
from folio.shares.service import Direction, SharedWith

router = Router(prefix=f"{API_V1}/shares", tags=["shares"])
Sharer = Annotated[Principal, requires(Scope.SHARES)]


def _read(shared: SharedWith) -> ShareRead:
    share = shared.share
    return ShareRead(
        id=share.id,
        item_type=share.item_type,
        item_id=share.item_id,
        item_title=share.item_title,
        note=share.note,
        shared_by=share.created_by,
        recipients=shared.recipients,
        created_at=share.created_at,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ShareRead,
    responses=authenticated(Forbidden, ShareItemNotFound, RecipientNotMember, RecipientCannotSee, TooManyShares),
    summary="Share a case, document, summary or chat of yours with members, with a note for their inboxes",
    description=(
        "You must be able to read the item (404 `SHARE_ITEM_NOT_FOUND` otherwise), and so must every recipient, "
        "as themselves: a member outside the case's business unit, or one who may not read a document a chat "
        "cites, is refused with 422 `SHARE_RECIPIENT_CANNOT_SEE` — a share never widens what a member sees. Each "
        "recipient is notified in their inbox. Members in person only (an API key has no one to share as)."
    ),
)
async def create_share(body: ShareCreate, principal: Sharer, session: SessionDep) -> ShareRead:
    shared = await service.create_share(
        session,
        principal=principal,
        item_type=body.item_type,
        item_id=body.item_id,
        recipients=body.recipients,
        note=body.note,
    )
    return _read(shared)


@router.get(
    "",
    response_model=Page[ShareRead],
    responses=authenticated(Forbidden),
    summary="Shares you received or sent, oldest first",
)
async def list_shares(
    principal: Sharer,
    session: SessionDep,
    page: PageDep,
    direction: Annotated[Direction, Query(description="`received`: shared with you; `sent`: by you.")] = (
        Direction.RECEIVED
    ),
) -> Page[ShareRead]:
    shares = await service.page_shares(session, principal=principal, direction=direction, page=page)
    return shares.to_page(_read)


@router.delete(
    "/{share_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, ShareNotFound),
    summary="Withdraw a share from its recipients (its sharer, or an admin)",
)
async def delete_share(share_id: UUID, principal: Sharer, session: SessionDep) -> None:
    await service.delete_share(session, principal=principal, share_id=share_id)


@router.get(
    "/{share_id}/item",
    response_model=ChatDetail | ViewRead,
    responses={
        **authenticated(Forbidden, ShareNotFound),
        303: {"description": "A case, document or summary: read it at its own endpoint (`Location`)."},
    },
    summary="Read a shared item (its sharer and recipients)",
    description=(
        "Cases, documents and summaries belong to the organization: this answers 303 with their own endpoint "
        "(`/api/v1/cases/{id}`, `/api/v1/documents/{id}`, `/api/v1/summaries/{id}`), where your own access "
        "applies. A chat is its starter's alone: a share of one lets its recipients read it here, read-only, while "
        "its sharer is a member and they may still read every document it cites (404 `SHARE_NOT_FOUND` otherwise). "
        "A saved view of the case list is read here too (its name and filters, as `GET /cases` takes them); "
        "applied, it shows you only the cases you may see."
    ),
)
async def read_shared_item(share_id: UUID, principal: Sharer, session: SessionDep) -> Any:
    item = await service.shared_item(session, principal=principal, share_id=share_id)
    if item.path is not None:
        return RedirectResponse(item.path, status_code=status.HTTP_303_SEE_OTHER)
    return item.view
