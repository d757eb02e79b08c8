from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, status

from folio.auth.deps import authenticated
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.inbox import service
from folio.inbox.deps import InboxOwner
from folio.inbox.errors import NotificationNotFound
from folio.inbox.schemas import InboxPreferences, MarkedRead, NotificationRead, UnreadCount
from folio.models import NotificationKind
from folio.pagination import Page
from folio.routing import Router

router = Router(prefix=f"{API_V1}/inbox", tags=["inbox"])

_PERSONAL = "Members in person only: an API key has no inbox (403)."


@router.get(
    "",
    response_model=Page[NotificationRead],
    responses=authenticated(Forbidden),
    summary="Your notifications, newest first",
    description=(
        "Cursor pages of your inbox in the active organization. Each new one is also pushed to your live streams "
        f"as `notification.created`. An inbox keeps its newest {service.MAX_INBOX} notifications. {_PERSONAL}"
    ),
)
async def list_inbox(
    principal: InboxOwner,
    session: SessionDep,
    page: PageDep,
    unread: Annotated[bool, Query(description="Only the unread ones.")] = False,
    kind: Annotated[NotificationKind | None, Query(description="Only this kind.")] = None,
) -> Page[NotificationRead]:
    found = await service.page_inbox(session, principal=principal, page=page, unread_only=unread, kind=kind)
    return found.to_page(NotificationRead.of)


@router.get(
    "/unread-count",
    response_model=UnreadCount,
    responses=authenticated(Forbidden),
    summary="How many of your notifications are unread",
)
async def count_unread(principal: InboxOwner, session: SessionDep) -> UnreadCount:
    return UnreadCount(unread=await service.unread_count(session, principal=principal))


@router.post(
    "/read-all",
    response_model=MarkedRead,
    responses=authenticated(Forbidden),
    summary="Mark your notifications read",
    description=(
        "Every unread notification, or with `up_to` only that one and those older: pass the newest id you have "
        "shown, so what arrived since stays unread."
    ),
)
async def read_all(
    principal: InboxOwner,
    session: SessionDep,
    up_to: Annotated[UUID | None, Query(description="The newest notification to mark; newer ones stay unread.")] = None,
) -> MarkedRead:
    return MarkedRead(marked=await service.mark_all_read(session, principal=principal, up_to=up_to))


@router.get(
    "/preferences",
    response_model=InboxPreferences,
    responses=authenticated(Forbidden),
    summary="Where each kind of your notifications goes",
)
async def get_preferences(principal: InboxOwner, session: SessionDep) -> InboxPreferences:
    return InboxPreferences.of(await service.preferences(session, principal=principal))


@router.put(
    "/preferences",
    response_model=InboxPreferences,
    responses=authenticated(Forbidden),
    summary="Choose where each kind of your notifications goes",
    description=(
        "One channel per kind, in this organization: `in_app` (your inbox and live streams; the default), `webhook` "
        "(no inbox item: only the organization's webhook endpoints subscribed to `notification.created` receive "
        "it, with you as `recipient_id`) or `off`. Kinds left out go back to `in_app`; an unknown kind is 422."
    ),
)
async def put_preferences(body: InboxPreferences, principal: InboxOwner, session: SessionDep) -> InboxPreferences:
    return InboxPreferences.of(await service.set_preferences(session, principal=principal, channels=body.channels()))


@router.post(
    "/{notification_id}/read",
    response_model=NotificationRead,
    responses=authenticated(Forbidden, NotificationNotFound),
    summary="Mark a notification read",
)
async def mark_read(notification_id: UUID, principal: InboxOwner, session: SessionDep) -> NotificationRead:
    notification = await service.mark(session, principal=principal, notification_id=notification_id, read=True)
    return NotificationRead.of(notification)


@router.post(
    "/{notification_id}/unread",
    response_model=NotificationRead,
    responses=authenticated(Forbidden, NotificationNotFound),
    summary="Mark a notification unread",
)
async def mark_unread(notification_id: UUID, principal: InboxOwner, session: SessionDep) -> NotificationRead:
    notification = await service.mark(session, principal=principal, notification_id=notification_id, read=False)
    return NotificationRead.of(notification)


@router.delete(
    "/{notification_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, NotificationNotFound),
    summary="Delete a notification from your inbox",
)
async def delete_notification(notification_id: UUID, principal: InboxOwner, session: SessionDep) -> None:
    await service.delete_notification(session, principal=principal, notification_id=notification_id)
