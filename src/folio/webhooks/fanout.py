"""From the outbox to deliveries: every stored event gets one delivery per enabled endpoint of its organization
that wants its type.

The fan-out reads the events after its cursor (`webhook_cursor`) and, in one transaction, creates their deliveries
and jobs and moves the cursor past them: each event is fanned out exactly once, whoever crashes when. Event ids
are committed in increasing order (`folio.events.outbox`), so "after the cursor" never skips one that commits
late. The cursor row is locked with SKIP LOCKED: in several processes one works at a time and the others pass
without waiting. Events of organizations without an enabled endpoint are never read.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from uuid import UUID

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.events.outbox import LiveEvent
from folio.models import WebhookEndpoint
from folio.settings import WebhookSettings
from folio.webhooks import service
from folio.webhooks.config import max_attempts
from folio.webhooks.repository import FanOutRepository
from folio.webhooks.signing import event_message_id

log = structlog.get_logger(__name__)

# Events read per transaction: bounds the deliveries one transaction makes (times FOLIO_WEBHOOKS__MAX_PER_ORG).
PAGE = 100

DELIVERIES_CREATED = Counter("folio_webhook_deliveries_created", "Webhook deliveries created by the fan-out.")


@dataclass(frozen=True, slots=True)
class _Step:
    deliveries: int
    more: bool


async def fan_out(
    sessionmaker: async_sessionmaker[AsyncSession], settings: WebhookSettings, *, page: int = PAGE
) -> int:
    """One pass: fan out every event stored so far, a page per transaction; the number of deliveries created.
    Returns 0 at once when another process is fanning out."""
    created = 0
    while True:
        async with sessionmaker() as session, session.begin():
            step = await _fan_out_page(session, settings, page)
        if step is None:
            return created
        created += step.deliveries
        DELIVERIES_CREATED.inc(step.deliveries)
        if not step.more:
            return created


async def _fan_out_page(session: AsyncSession, settings: WebhookSettings, page: int) -> _Step | None:
    repository = FanOutRepository(session)
    cursor = await repository.lock_cursor()
    if cursor is None:
        return None
    # Read first: every id up to it is committed (or rolled back) by now, so the events below are complete.
    upto = await repository.last_event_id()
    if upto <= cursor.last_event_id:
        return _Step(0, more=False)
    events = await repository.events_for_endpoints(after=cursor.last_event_id, upto=upto, limit=page)
    more = len(events) == page
    cursor.last_event_id = events[-1].id if more else upto
    if not events:
        return _Step(0, more=False)
    endpoints: defaultdict[UUID, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in await repository.enabled_endpoints({event.org_id for event in events}):
        endpoints[endpoint.org_id].append(endpoint)
    attempts = max_attempts(settings)
    created = 0
    for row in events:
        event = LiveEvent.from_row(row)
        body: str | None = None
        for endpoint in endpoints[event.org_id]:
            if not service.wants(endpoint, row.id, row.type):
                continue
            body = body or service.event_body(event)
            service.queue_delivery(
                session,
                endpoint,
                event_id=row.id,
                event_type=row.type,
                body=body,
                message_id=event_message_id(row.id, endpoint.id),
                max_attempts=attempts,
            )
            created += 1
    return _Step(created, more=more)


@asynccontextmanager
async def running_fan_out(
    sessionmaker: async_sessionmaker[AsyncSession], settings: WebhookSettings, *, interval: float | None = None
) -> AsyncIterator[None]:
    """Fan out every `interval` seconds (`settings.fan_out_seconds`) for the block's duration (in each process
    that runs jobs)."""
    interval = settings.fan_out_seconds if interval is None else interval

    async def forever() -> None:
        while True:
            try:
                await fan_out(sessionmaker, settings)
            except Exception:  # the database is away; the next pass picks up where the cursor is
                log.warning("webhook_fan_out_failed", exc_info=True)
            await asyncio.sleep(interval)

    task = asyncio.create_task(forever())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
