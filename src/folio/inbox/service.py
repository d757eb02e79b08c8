"""Notifying members, and a member's own inbox.

`notify` is how every domain tells members something: within the caller's transaction, so a notification exists
if and only if the change it tells of commits. Per recipient and kind, the member's channel decides: `in_app` (the
default) stores an inbox item and pushes `notification.created` to that member's live streams; `webhook` emits the
event only, which the organization's webhook endpoints subscribed to `notification.created` receive (no inbox
item); `off` sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.db import new_id
from folio.events.outbox import Audience, emit
from folio.events.schemas import SYSTEM, Actor, EventType, NotificationData, Subject, SubjectType
from folio.inbox.errors import NotificationNotFound
from folio.inbox.repository import InboxRepository, PreferenceRepository
from folio.models import Notification, NotificationChannel, NotificationKind
from folio.pagination import Paged, PageRequest

__all__ = ["MAX_INBOX", "MAX_RECIPIENTS", "Notice", "NotificationChannel", "NotificationKind", "notify", "notify_each"]

log = structlog.get_logger(__name__)

# Members one call notifies at most; those beyond are left out (and logged): a caller with more has a bug.
MAX_RECIPIENTS = 1000
# Notifications an inbox keeps: each new one beyond that drops the oldest, read or not.
MAX_INBOX = 1000
MAX_TITLE = 200
MAX_BODY = 1000


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification of `notify_each`: what `notify` takes for a single one."""

    recipients: Iterable[UUID]
    title: str
    body: str = ""
    subject: Subject | None = None
    unit_id: UUID | None = None


async def notify(
    session: AsyncSession,
    *,
    org_id: UUID,
    recipients: Iterable[UUID],
    kind: NotificationKind,
    title: str,
    body: str = "",
    subject: Subject | None = None,
    actor: Actor = SYSTEM,
    unit_id: UUID | None = None,
) -> None:
    """Notify `recipients` of the organization, each by their channel for `kind`.

    The caller chooses the recipients; notify leaves out the actor (nobody is told of their own action), anyone who
    is not a member of the organization, and, when the notification concerns a case (`unit_id` given, or a case
    subject: `unit_id` None is then a case of no unit), members who do not see that unit's cases. One statement
    reads every recipient's membership and preference, one inserts every inbox item.
    """
    notice = Notice(recipients, title, body, subject, unit_id)
    await notify_each(session, org_id=org_id, kind=kind, notices=[notice], actor=actor)


async def notify_each(
    session: AsyncSession, *, org_id: UUID, kind: NotificationKind, notices: Sequence[Notice], actor: Actor = SYSTEM
) -> None:
    """`notify` for several notifications of one kind at once (each its own recipients, text, subject and unit), in
    as many statements as one: for a caller that tells of many things in the same step."""
    wanted = [_distinct(notice.recipients, leave_out=actor.id) for notice in notices]
    everyone = {user_id for users in wanted for user_id in users}
    if not everyone:
        return
    repository = InboxRepository(session)
    members = {recipient.user_id: recipient for recipient in await repository.recipients(org_id, everyone, kind)}
    rows: list[dict[str, Any]] = []
    for notice, users in zip(notices, wanted, strict=True):
        subject, unit_id = notice.subject, notice.unit_id
        about_case = unit_id is not None or (subject is not None and subject.type is SubjectType.CASE)
        reached = [
            recipient
            for user_id in users
            if (recipient := members.get(user_id)) is not None
            and recipient.channel is not NotificationChannel.OFF
            and (not about_case or recipient.principal.sees_unit(unit_id))
        ]
        title, body = _clean(notice.title, MAX_TITLE), _clean(notice.body, MAX_BODY)
        for recipient in reached:
            notification_id = new_id()
            in_inbox = recipient.channel is NotificationChannel.IN_APP
            if in_inbox:
                rows.append(
                    {
                        "id": notification_id,
                        "org_id": org_id,
                        "user_id": recipient.user_id,
                        "kind": kind,
                        "title": title,
                        "body": body,
                        "subject_type": None if subject is None else subject.type.value,
                        "subject_id": None if subject is None else subject.id,
                        "actor_type": actor.type,
                        "actor_id": actor.id,
                    }
                )
            emit(
                session,
                org_id=org_id,
                type=EventType.NOTIFICATION_CREATED,
                subject_id=notification_id,
                data=NotificationData(
                    notification_id=notification_id,
                    kind=kind,
                    title=title,
                    body=body,
                    about=subject,
                    in_inbox=in_inbox,
                ),
                actor=actor,
                audience=Audience.recipient(recipient.user_id),
            )
    if rows:
        await repository.insert(rows)
        await repository.prune(org_id, list(dict.fromkeys(row["user_id"] for row in rows)), keep=MAX_INBOX)


def _distinct(recipients: Iterable[UUID], *, leave_out: UUID | None) -> list[UUID]:
    """The recipients once each, in the caller's order, without `leave_out`, at most MAX_RECIPIENTS."""
    seen: dict[UUID, None] = {}
    for user_id in recipients:
        if user_id == leave_out or user_id in seen:
            continue
        if len(seen) == MAX_RECIPIENTS:
            log.warning("notification_recipients_left_out", limit=MAX_RECIPIENTS)
            break
        seen[user_id] = None
    return list(seen)


def _clean(text: str, limit: int) -> str:
    """Within the column's length, and without NUL, which PostgreSQL cannot store (a job's error may carry one)."""
    return text.replace("\x00", "")[:limit]


# A member's own inbox


async def page_inbox(
    session: AsyncSession,
    *,
    principal: Principal,
    page: PageRequest,
    unread_only: bool = False,
    kind: NotificationKind | None = None,
) -> Paged[Notification]:
    return await InboxRepository(session).page_newest_first(principal, page, unread_only=unread_only, kind=kind)


async def unread_count(session: AsyncSession, *, principal: Principal) -> int:
    return await InboxRepository(session).unread_count(principal)


async def mark(session: AsyncSession, *, principal: Principal, notification_id: UUID, read: bool) -> Notification:
    notification = await InboxRepository(session).set_read(principal, notification_id, read=read)
    if notification is None:
        raise NotificationNotFound()
    return notification


async def mark_all_read(session: AsyncSession, *, principal: Principal, up_to: UUID | None = None) -> int:
    return await InboxRepository(session).read_all(principal, up_to)


async def delete_notification(session: AsyncSession, *, principal: Principal, notification_id: UUID) -> None:
    if not await InboxRepository(session).remove(principal, notification_id):
        raise NotificationNotFound()


async def preferences(session: AsyncSession, *, principal: Principal) -> dict[NotificationKind, NotificationChannel]:
    """The member's channel for every kind."""
    chosen = await PreferenceRepository(session).channels(principal)
    return {kind: chosen.get(kind, NotificationChannel.IN_APP) for kind in NotificationKind}


async def set_preferences(
    session: AsyncSession, *, principal: Principal, channels: Mapping[NotificationKind, NotificationChannel]
) -> dict[NotificationKind, NotificationChannel]:
    await PreferenceRepository(session).replace(principal, channels)
    return await preferences(session, principal=principal)
