"""Notifications committed through `notify` as other domains send them, and the inbox read through the API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from folio.auth.principal_cache import invalidate, member_tag
from folio.inbox.service import NotificationKind, notify
from folio.models import BusinessUnit, Notification, UnitMembership
from tests.factories import Account

INBOX = "/api/v1/inbox"


async def notify_now(app: FastAPI, org_id: UUID, recipients: Iterable[UUID], **fields: Any) -> None:
    """`notify` in a transaction of its own, committed (and its events published)."""
    fields.setdefault("kind", NotificationKind.MENTION)
    fields.setdefault("title", "You were mentioned on C-000001")
    async with app.state.sessionmaker() as session, session.begin():
        await notify(session, org_id=org_id, recipients=recipients, **fields)


async def inbox(client: httpx.AsyncClient, headers: Mapping[str, str], **params: Any) -> list[dict[str, Any]]:
    """The notifications of the member `headers` authenticate, newest first (one page)."""
    response = await client.get(INBOX, params=params, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def stored(app: FastAPI, user_id: UUID) -> int:
    """Notifications in the member's inbox, whatever their organization."""
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).where(Notification.user_id == user_id)) or 0)


async def limit_to_new_unit(app: FastAPI, account: Account, org_id: UUID) -> UUID:
    """A new business unit of the organization, to which the member is limited; its id."""
    async with app.state.sessionmaker() as session, session.begin():
        unit = BusinessUnit(org_id=org_id, name=f"Unit of {account.email}")
        session.add(unit)
        await session.flush()
        session.add(UnitMembership(org_id=org_id, user_id=account.user_id, unit_id=unit.id))
        invalidate(session, member_tag(org_id, account.user_id))
    return unit.id
