"""One per API process: receives committed events from the bus and hands each to the live clients that want it.

The hub delivers durable events in id order, exactly once each. An event that arrives after a gap (its
predecessor was lost on the bus, or is still on its way from another process) makes the hub read the outbox up to
it first; every `relay_seconds` it also reads whatever was committed but never published (the process that made
it died between commit and publish, or Redis was down). Ids are committed in order (`folio.events.outbox`), so
"everything after my cursor" is a complete answer.

A client subscribes with what it wants and, after a reconnect, the id it saw last: the subscription replays the
outbox from there, then continues live, skipping what it already sent. Each client has a bounded queue; one
that falls behind is dropped (`SubscriberTooSlow`) without slowing anyone else.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from types import FrameType
from typing import Any, TypeGuard
from uuid import UUID

import structlog
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.events.bus import Bus
from folio.events.errors import SubscriberTooSlow, TooManyStreams
from folio.events.outbox import LiveEvent
from folio.models import Event
from folio.settings import EventSettings

log = structlog.get_logger(__name__)

# Outbox rows read at once, by the relay and by a replay.
PAGE = 500

LIVE_STREAMS = Gauge(
    "folio_live_streams", "Open live event streams (WebSocket and SSE) in this process.", multiprocess_mode="livesum"
)
EVENTS_SENT = Counter("folio_events_sent", "Events handed to live streams.")
STREAMS_DROPPED = Counter("folio_live_streams_dropped", "Live streams closed because they fell too far behind.")

Wants = Callable[[LiveEvent], bool]
# Longest wait for the live streams to close once the process is told to stop, before the server goes on stopping.
RESTART_SECONDS = 5.0


class ServerRestarting(Exception):
    """The process is stopping: its live streams end, and their clients reconnect (to another process) with the
    last event id they received."""


class Subscription:
    """What one live client receives: its organization's events that `wants` accepts, replayed then live."""

    def __init__(self, hub: Hub, org_id: UUID, wants: Wants, since: int | None) -> None:
        self.hub = hub
        self.org_id = org_id
        self.wants = wants
        self.last_id = since or 0
        self._replaying = since is not None
        self._replayed: list[LiveEvent] = []
        self._queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue()
        self.too_slow = False

    def wake(self) -> None:
        """Make a reader waiting for the next event look at the hub again (it is restarting)."""
        self._queue.put_nowait(None)

    def offer(self, events: Sequence[LiveEvent]) -> None:
        """Queue the events it wants of one commit (or one page of the outbox), all or none: the bound is checked
        before them, so a commit of many events never drops a client that was keeping up."""
        if self.too_slow:
            return
        wanted = [event for event in events if self.wants(event)]
        if not wanted:
            return
        if self._queue.qsize() >= self.hub.settings.max_queue:
            self.too_slow = True
            STREAMS_DROPPED.inc()
            self._queue.put_nowait(None)  # wakes the reader, which raises
            self.hub.forget(self)
            return
        for event in wanted:
            self._queue.put_nowait(event)
        EVENTS_SENT.inc(len(wanted))

    async def next(self, heartbeat: float | None = None) -> LiveEvent | None:
        """The next event, or None after `heartbeat` seconds without one (time to send a heartbeat).

        Raises SubscriberTooSlow once the client fell too far behind, ServerRestarting once the process stops."""
        while True:
            if self.hub.restarting.is_set():
                raise ServerRestarting()
            if self._replaying and not self._replayed:
                self._replayed = await self.hub.read(self.org_id, after=self.last_id)
                self._replaying = len(self._replayed) == PAGE
                self._replayed.reverse()
            while self._replayed:
                event = self._replayed.pop()
                self.last_id = event.id or self.last_id
                if self.wants(event):
                    return event
            if self._replaying:
                continue
            try:
                async with asyncio.timeout(heartbeat):
                    live = await self._queue.get()
            except TimeoutError:
                return None
            if live is None:
                if self.hub.restarting.is_set():
                    raise ServerRestarting()
                raise SubscriberTooSlow()
            if live.id is not None:
                if live.id <= self.last_id:
                    continue  # replayed already
                self.last_id = live.id
            return live


class Hub:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], settings: EventSettings) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.cursor = 0
        self._subscriptions: defaultdict[UUID, set[Subscription]] = defaultdict(set)
        self._inbox: asyncio.Queue[Sequence[LiveEvent] | None] = asyncio.Queue()
        self._resync_queued = False
        self._open = 0
        self._tasks: list[asyncio.Task[None]] = []
        # Told of every event this process delivers, of every organization (the analytics cache).
        self.observers: list[Callable[[Sequence[LiveEvent]], None]] = []
        # Set once the process stops: every stream ends, and new ones end as soon as they start.
        self.restarting = asyncio.Event()
        self._idle = asyncio.Event()  # no stream is open
        self._idle.set()

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._consume()), asyncio.create_task(self._relay_forever())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def restart_streams(self, seconds: float) -> None:
        """End every live stream, each with a hint to reconnect elsewhere, and wait up to `seconds` for them to
        close (WebSocket and SSE endpoints end theirs on `restarting`)."""
        self.restarting.set()
        for streams in self._subscriptions.values():
            for subscription in streams:
                subscription.wake()
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._idle.wait()

    def receive(self, events: Sequence[LiveEvent]) -> None:
        """Events from the bus (any process's, in any order); called on this process's event loop."""
        self._inbox.put_nowait(events)

    def resync(self) -> None:
        """Read the outbox soon: the bus may have dropped events."""
        if not self._resync_queued:
            self._resync_queued = True
            self._inbox.put_nowait(None)

    @asynccontextmanager
    async def subscribe(self, org_id: UUID, wants: Wants, *, since: int | None = None) -> AsyncIterator[Subscription]:
        """A live subscription for the block's duration; `since` replays the outbox after that id first."""
        streams = self._subscriptions[org_id]
        if len(streams) >= self.settings.max_connections_per_org:
            raise TooManyStreams(details={"limit": self.settings.max_connections_per_org})
        if self._open >= self.settings.max_connections:
            # Anyone can register an organization: the per-organization limit alone bounds nothing.
            raise TooManyStreams(details={"limit": self.settings.max_connections})
        subscription = Subscription(self, org_id, wants, since)
        streams.add(subscription)
        self._open += 1
        self._idle.clear()
        LIVE_STREAMS.inc()
        try:
            yield subscription
        finally:
            self._open -= 1
            if not self._open:
                self._idle.set()
            LIVE_STREAMS.dec()
            self.forget(subscription)

    def forget(self, subscription: Subscription) -> None:
        streams = self._subscriptions.get(subscription.org_id)
        if streams is not None:
            streams.discard(subscription)
            if not streams:
                del self._subscriptions[subscription.org_id]

    def streams(self, org_id: UUID) -> int:
        return len(self._subscriptions.get(org_id, ()))

    async def read(self, org_id: UUID | None, *, after: int, upto: int | None = None) -> list[LiveEvent]:
        """Up to PAGE stored events after id `after` (of one organization, or of all), oldest first."""
        statement = select(Event).where(Event.id > after).order_by(Event.id).limit(PAGE)
        if org_id is not None:
            statement = statement.where(Event.org_id == org_id)
        if upto is not None:
            statement = statement.where(Event.id <= upto)
        async with self.sessionmaker() as session:
            rows = (await session.scalars(statement)).all()
        return [LiveEvent.from_row(row) for row in rows]

    def _deliver(self, events: Sequence[LiveEvent]) -> None:
        for observer in self.observers:
            observer(events)
        by_org: defaultdict[UUID, list[LiveEvent]] = defaultdict(list)
        for event in events:
            by_org[event.org_id].append(event)
        for org_id, theirs in by_org.items():
            for subscription in list(self._subscriptions.get(org_id, ())):
                subscription.offer(theirs)

    async def _consume(self) -> None:
        await self._find_cursor()
        while True:
            item = await self._inbox.get()
            try:
                if item is None:
                    self._resync_queued = False
                    await self._catch_up()
                    continue
                ready: list[LiveEvent] = []
                for event in item:
                    if event.id is None:
                        ready.append(event)
                    elif event.id == self.cursor + 1:
                        ready.append(event)
                        self.cursor = event.id
                    elif event.id > self.cursor:
                        self._deliver(ready)
                        ready = []
                        await self._catch_up(upto=event.id)
                self._deliver(ready)
            except Exception:  # the database is away; the relay tries again
                log.warning("event_relay_failed", exc_info=True)

    async def _find_cursor(self) -> None:
        """Start after the newest stored event. Until the database answers (or is migrated: readiness says so),
        events wait in the inbox and the process serves everything else."""
        while True:
            try:
                async with self.sessionmaker() as session:
                    self.cursor = await session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0
                return
            except Exception:
                log.warning("event_hub_waiting_for_database", exc_info=True)
                await asyncio.sleep(self.settings.relay_seconds)

    async def _catch_up(self, upto: int | None = None) -> None:
        """Deliver every stored event after the cursor (up to `upto`), in id order."""
        while True:
            events = await self.read(None, after=self.cursor, upto=upto)
            self._deliver(events)
            if events:
                self.cursor = events[-1].id or self.cursor
            if len(events) < PAGE:
                return

    async def _relay_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.relay_seconds)
            self.resync()


@asynccontextmanager
async def running_hub(
    sessionmaker: async_sessionmaker[AsyncSession], settings: EventSettings, bus: Bus
) -> AsyncIterator[Hub]:
    """This API process's hub, fed by `bus`, for the block's duration; under uvicorn, an exit signal first ends
    the live streams (`streams_end_first`)."""
    hub = Hub(sessionmaker, settings)
    await hub.start()
    try:
        await bus.listen(hub.receive, hub.resync)
        try:
            with streams_end_first(hub):
                yield hub
        finally:
            await bus.close()
    finally:
        await hub.stop()


@contextmanager
def streams_end_first(hub: Hub) -> Iterator[None]:
    """Under uvicorn, an exit signal (SIGTERM, SIGINT) first ends the live streams, telling their clients to
    reconnect, and then reaches the server.

    uvicorn waits for open connections before it shuts the application down, up to `timeout_graceful_shutdown`,
    and a live stream never ends by itself: it closes open WebSockets with 1012 but without a reason, and leaves
    server-sent event streams running until that timeout. Its signal handler (a method of its `Server`, installed
    before the application starts, in each worker process) is wrapped here: on a first signal it runs once the
    streams ended, at most RESTART_SECONDS later; a second signal reaches it at once. Elsewhere (another server,
    a thread, a test) nothing changes.
    """
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    servers: dict[int, Callable[[int, FrameType | None], Any]] = {
        signum: handler for signum, handler in handlers.items() if _stops_a_server(handler)
    }
    if not servers or threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    ending: set[asyncio.Task[None]] = set()
    signalled = False

    async def end_streams_then_stop(signum: int) -> None:
        try:
            await hub.restart_streams(RESTART_SECONDS)
        finally:
            servers[signum](signum, None)

    def start(signum: int) -> None:
        task = loop.create_task(end_streams_then_stop(signum))
        ending.add(task)
        task.add_done_callback(ending.discard)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal signalled
        if signalled:
            servers[signum](signum, frame)
            return
        signalled = True
        # A signal handler interrupts the event loop's own code: it only schedules, the loop does the rest.
        loop.call_soon_threadsafe(start, signum)

    for signum in servers:
        signal.signal(signum, on_signal)
    try:
        yield
    finally:
        for signum, handler in servers.items():
            if signal.getsignal(signum) is on_signal:
                signal.signal(signum, handler)


def _stops_a_server(handler: object) -> TypeGuard[Callable[[int, FrameType | None], Any]]:
    """Whether a signal handler is a server's exit method (uvicorn's `Server.handle_exit`: it sets `should_exit`)."""
    return callable(handler) and hasattr(getattr(handler, "__self__", None), "should_exit")
