"""SQL for webhooks. Request-side statements start from `scoped(principal)`; the delivery job and the fan-out act by
id, as the jobs table does."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from folio.auth.principal import Principal
from folio.models import (
    DeliveryStatus,
    Event,
    WebhookAttempt,
    WebhookCursor,
    WebhookDelivery,
    WebhookEndpoint,
)
from folio.pagination import Paged, PageRequest, encode_cursor
from folio.repository import ScopedRepository


class WebhookRepository(ScopedRepository[WebhookEndpoint]):
    model = WebhookEndpoint

    async def count(self, principal: Principal) -> int:
        statement = select(func.count()).select_from(self.scoped(principal).subquery())
        return int(await self.session.scalar(statement) or 0)

    async def last_event_id(self) -> int:
        """The newest stored event's id: every event up to it is committed (`folio.events.outbox`)."""
        return int(await self.session.scalar(select(func.max(Event.id))) or 0)

    # Worker side: the delivery job knows its endpoint by id.

    async def by_id(self, endpoint_id: UUID, *, for_update: bool = False) -> WebhookEndpoint | None:
        statement = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
        endpoint: WebhookEndpoint | None = await self.session.scalar(
            statement.with_for_update() if for_update else statement
        )
        return endpoint

    async def reset_failures(self, endpoint_id: UUID) -> None:
        """A delivery got through: the count of failures in a row starts again (no write when it is already 0)."""
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.consecutive_failures != 0)
            .values(consecutive_failures=0)
        )


class DeliveryRepository(ScopedRepository[WebhookDelivery]):
    model = WebhookDelivery

    async def of_endpoint(self, principal: Principal, endpoint_id: UUID, delivery_id: UUID) -> WebhookDelivery | None:
        statement = self.scoped(principal).where(
            WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.id == delivery_id
        )
        delivery: WebhookDelivery | None = await self.session.scalar(statement)
        return delivery

    async def page_newest_first(
        self, principal: Principal, endpoint_id: UUID, page: PageRequest, status: DeliveryStatus | None
    ) -> Paged[WebhookDelivery]:
        """The cursor is the last delivery shown, and the next page holds older ones."""
        statement = self.scoped(principal).where(WebhookDelivery.endpoint_id == endpoint_id)
        if status is not None:
            statement = statement.where(WebhookDelivery.status == status)
        if page.after is not None:
            statement = statement.where(WebhookDelivery.id < page.after)
        statement = statement.order_by(WebhookDelivery.id.desc()).limit(page.limit + 1)
        rows = (await self.session.scalars(statement)).all()
        if len(rows) <= page.limit:
            return Paged(rows, None)
        return Paged(rows[: page.limit], encode_cursor(rows[page.limit - 1].id))

    async def attempts(self, delivery_id: UUID) -> Sequence[WebhookAttempt]:
        statement = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.attempted_at)
        )
        return (await self.session.scalars(statement)).all()

    async def count_manual_pending(self, endpoint_id: UUID) -> int:
        statement = (
            select(func.count())
            .select_from(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.manual.is_(True),
            )
        )
        return int(await self.session.scalar(statement) or 0)

    # Worker side: the delivery job knows its delivery by id.

    async def for_update(self, delivery_id: UUID) -> WebhookDelivery | None:
        statement = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
        delivery: WebhookDelivery | None = await self.session.scalar(statement)
        return delivery

    async def delete_finished_before(self, cutoff: datetime, limit: int) -> int:
        oldest = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.created_at < cutoff, WebhookDelivery.status != DeliveryStatus.PENDING)
            .limit(limit)
        )
        result = await self.session.execute(
            delete(WebhookDelivery).where(WebhookDelivery.id.in_(oldest.scalar_subquery()))
        )
        return int(getattr(result, "rowcount", 0) or 0)


class FanOutRepository(WebhookRepository):
    """The outbox as the fan-out reads it."""

    async def lock_cursor(self) -> WebhookCursor | None:
        """The cursor, locked until the commit; None when another process holds it (nobody waits)."""
        statement = select(WebhookCursor).where(WebhookCursor.id == 1).with_for_update(skip_locked=True)
        cursor: WebhookCursor | None = await self.session.scalar(statement)
        if cursor is not None:
            return cursor
        # Missing (emptied tables) rather than locked: the first to put it back holds it.
        created = await self.session.execute(
            insert(WebhookCursor).values(id=1, last_event_id=0).on_conflict_do_nothing().returning(WebhookCursor.id)
        )
        if created.first() is None:
            return None
        return await self.session.get_one(WebhookCursor, 1)

    async def events_for_endpoints(self, *, after: int, upto: int, limit: int) -> Sequence[Event]:
        """Events after `after` up to `upto` of the organizations with an enabled endpoint, oldest first: an
        organization without one costs nothing here."""
        listening = select(WebhookEndpoint.org_id).where(WebhookEndpoint.enabled.is_(True))
        statement = (
            select(Event)
            .where(Event.id > after, Event.id <= upto, Event.org_id.in_(listening.scalar_subquery()))
            .order_by(Event.id)
            .limit(limit)
        )
        return (await self.session.scalars(statement)).all()

    async def enabled_endpoints(self, org_ids: Collection[UUID]) -> Sequence[WebhookEndpoint]:
        statement = (
            select(WebhookEndpoint)
            .where(WebhookEndpoint.org_id.in_(org_ids), WebhookEndpoint.enabled.is_(True))
            .order_by(WebhookEndpoint.id)
        )
        return (await self.session.scalars(statement)).all()
