"""Shares between members: a member points colleagues to an item they may all read, with a note that lands in
their inboxes. A share never widens what its recipients may see: each must be able to read the item themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.members import member_principal
from folio.auth.principal import Principal, Scope
from folio.errors import Forbidden, ValidationFailed
from folio.events.outbox import actor_of
from folio.events.schemas import Subject, SubjectType
from folio.inbox.service import NotificationKind, notify
from folio.models import Share, ShareItemType
from folio.models.share import ITEM_COLUMNS
from folio.pagination import Paged, PageRequest
from folio.repository import lock_org
from folio.shares.errors import RecipientCannotSee, RecipientNotMember, ShareNotFound, TooManyShares
from folio.shares.items import ITEMS, Item
from folio.shares.repository import ShareRepository

MAX_RECIPIENTS = 20
MAX_NOTE_LENGTH = 1000
# Shares of one item, whoever made them (each with up to MAX_RECIPIENTS recipients).
MAX_SHARES_PER_ITEM = 100


class Direction(StrEnum):
    RECEIVED = "received"
    SENT = "sent"


@dataclass(frozen=True, slots=True)
class SharedWith:
    share: Share
    recipients: list[UUID]


@dataclass(frozen=True, slots=True)
class SharedItem:
    """Where the item is read: at its own endpoint (`path`), or here (`view`) when only the share opens it."""

    path: str | None = None
    view: BaseModel | None = None


def in_person(principal: Principal) -> UUID:
    """Shares go from one member to others: an API key has no inbox and is no one to share as."""
    if principal.member_id is None:
        raise Forbidden("Shares between members are made and read by members in person; sign in.")
    return principal.member_id


async def create_share(
    session: AsyncSession,
    *,
    principal: Principal,
    item_type: ShareItemType,
    item_id: UUID,
    recipients: Sequence[UUID],
    note: str,
) -> SharedWith:
    """Share the item (which the principal must be able to read) with members who may read it too."""
    sharer = in_person(principal)
    if sharer in recipients:
        raise ValidationFailed("You cannot share with yourself.", details={"field": "recipients"})
    kind = ITEMS[item_type]
    item = await kind.load(session, principal, item_id)
    await _check_recipients(session, principal, item, recipients)
    repository = ShareRepository(session)
    await lock_org(session, principal.org_id)
    if await repository.count_of_item(principal, item_type, item.id) >= MAX_SHARES_PER_ITEM:
        raise TooManyShares(details={"limit": MAX_SHARES_PER_ITEM})
    share = Share(org_id=principal.org_id, created_by=sharer, item_title=item.title[:500], note=note)
    setattr(share, ITEM_COLUMNS[item_type], item.id)
    await repository.add(share)
    await repository.add_recipients(share, recipients)
    await notify(
        session,
        org_id=principal.org_id,
        recipients=recipients,
        kind=NotificationKind.SHARE,
        title=f"{item_type.value.capitalize()} shared with you: {item.title}",
        body=note,
        # An item with no page of its own to open (a chat) is read through the share.
        subject=Subject(type=SubjectType.SHARE, id=share.id)
        if kind.subject is None
        else Subject(type=kind.subject, id=item.id),
        actor=actor_of(principal),
        unit_id=item.unit_id,
    )
    return SharedWith(share, sorted(recipients))


async def _check_recipients(
    session: AsyncSession, principal: Principal, item: Item, recipients: Sequence[UUID]
) -> None:
    """Every recipient is a member who may read the item as themselves (their role, units and scopes)."""
    kind = ITEMS[item.type]
    strangers: list[str] = []
    unable: list[str] = []
    for user_id in recipients:
        recipient = await member_principal(session, org_id=principal.org_id, user_id=user_id)
        if recipient is None:
            strangers.append(str(user_id))
        elif not await kind.readable_by(session, recipient, item):
            unable.append(str(user_id))
    if strangers:
        raise RecipientNotMember(details={"recipients": strangers})
    if unable:
        raise RecipientCannotSee(details={"recipients": unable})


async def page_shares(
    session: AsyncSession, *, principal: Principal, direction: Direction, page: PageRequest
) -> Paged[SharedWith]:
    in_person(principal)
    repository = ShareRepository(session)
    if direction is Direction.RECEIVED:
        shares = await repository.page_received(principal, page)
    else:
        shares = await repository.page_sent(principal, page)
    recipients = await repository.recipients_of([share.id for share in shares.items])
    return Paged([SharedWith(share, recipients[share.id]) for share in shares.items], shares.next_cursor)


async def delete_share(session: AsyncSession, *, principal: Principal, share_id: UUID) -> None:
    """Its sharer or an admin withdraws it from every recipient; a recipient may not."""
    member = in_person(principal)
    repository = ShareRepository(session)
    if principal.has(Scope.ADMIN):
        share = await repository.of_org(principal, share_id)
    else:
        share = await repository.get(principal, share_id, for_update=True)
    if share is None:
        raise ShareNotFound()
    if share.created_by != member and not principal.has(Scope.ADMIN):
        raise Forbidden("Only whoever shared it, or an admin, can delete a share.")
    await repository.delete(share)


async def shared_item(session: AsyncSession, *, principal: Principal, share_id: UUID) -> SharedItem:
    """The item of a share sent to or by the principal: where to read it, or for an item only the share opens (a
    chat), its view, read as the sharer and only while the principal may still read it."""
    member = in_person(principal)
    share = await ShareRepository(session).get(principal, share_id)
    if share is None:
        raise ShareNotFound()
    kind = ITEMS[share.item_type]
    path = kind.path(share.item_id)
    if path is not None:
        return SharedItem(path=path)
    sharer = await member_principal(session, org_id=share.org_id, user_id=share.created_by)
    item = None if sharer is None else await kind.find(session, sharer, share.item_id)
    if sharer is None or item is None:
        raise ShareNotFound()
    if member != share.created_by and not await kind.readable_by(session, principal, item):
        raise ShareNotFound()
    view = await kind.view(session, sharer, share.item_id)
    if view is None:
        raise ShareNotFound()
    return SharedItem(view=view)
