"""Live events on the wire as server-sent events: `id:` the event id (none for live-only types), `event:` its
type, `data:` its JSON; a `retry:` line first, and a comment as heartbeat whenever nothing was sent for a while."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable

from fastapi.sse import ServerSentEvent

from folio.events.errors import SubscriberTooSlow
from folio.events.hub import Subscription
from folio.events.outbox import LiveEvent
from folio.events.sse_access import Access

# How long a client waits before reconnecting once a stream ends (EventSource's `retry`).
RETRY_MILLISECONDS = 2000
OPENING = ServerSentEvent(retry=RETRY_MILLISECONDS)
# Every FOLIO_EVENTS__HEARTBEAT_SECONDS of silence (FastAPI adds its own `: ping` after 15 s of silence).
HEARTBEAT = ServerSentEvent(comment="heartbeat")
TOO_SLOW = ServerSentEvent(comment=f"closed: {SubscriberTooSlow.code}; reconnect with Last-Event-ID")
ACCESS_CHANGED = ServerSentEvent(comment="closed: your access changed; reconnect to authenticate again")


def message(event: LiveEvent) -> ServerSentEvent:
    return ServerSentEvent(
        raw_data=event.json().decode(), event=event.type.value, id=None if event.id is None else str(event.id)
    )


def _never(_: LiveEvent) -> bool:
    return False


async def relay(
    subscription: Subscription | None,
    *,
    heartbeat: float,
    access: Access,
    first: Iterable[LiveEvent] = (),
    last: Callable[[LiveEvent], bool] = _never,
) -> AsyncIterator[ServerSentEvent]:
    """The retry line, the `first` events, then the subscription's (if any) until `last` accepts one (sent, then
    the stream ends), the client falls too far behind, or its access changes."""
    yield OPENING
    for summary in first:
        yield message(summary)
    if subscription is None:
        return
    try:
        while True:
            if await access.lost():
                yield ACCESS_CHANGED
                return
            event = await subscription.next(heartbeat=heartbeat)
            if event is None:
                yield HEARTBEAT
                continue
            yield message(event)
            if last(event):
                return
    except SubscriberTooSlow:
        yield TOO_SLOW
