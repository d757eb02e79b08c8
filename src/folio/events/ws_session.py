"""One live-event WebSocket from its handshake to its close: the credential, the topics, the events.

Three tasks share an open connection: one reads the client's messages, one sends the events of the connection's
hub subscription (and heartbeats), one closes the connection when its access token expires and checks the
credential again every RECHECK_SECONDS (a revoked key or session, a removed member, a changed role). The first of
them to end ends the others. No database connection is held while the socket is open: authentication, topic checks
and the periodic check each use a short transaction of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.auth.deps import authenticate, principal_for
from folio.auth.errors import AuthExpired, AuthInvalid, AuthRequired, OrgAccessDenied
from folio.auth.tokens import AccessTokens
from folio.db_retry import is_away
from folio.errors import FolioError, RateLimitExceeded, ServerBusy, ValidationFailed
from folio.events import topics
from folio.events.errors import EventsForbidden, SubscriberTooSlow, TooManyStreams, UnknownTopic
from folio.events.hub import Hub, Subscription
from folio.events.outbox import LiveEvent
from folio.events.topics import MAX_TOPICS, Topic
from folio.events.ws_handshake import Access, handshake, query_since, receive, since_problem
from folio.events.ws_protocol import (
    HEARTBEAT,
    PONG,
    AuthMessage,
    Close,
    CloseCode,
    ErrorMessage,
    PingMessage,
    Subscribed,
    SubscribeMessage,
    UnsubscribeMessage,
)
from folio.observability.context import request_id_var
from folio.ratelimit import Policy, RateLimiter
from folio.settings import EventSettings

log = structlog.get_logger(__name__)

# Seconds between two checks of an open connection's credential: a revoked key or a removed member reads no longer.
RECHECK_SECONDS = 60.0
# Time a peer has to take the error message and the close frame before the connection is dropped without them.
CLOSE_SECONDS = 5.0

_CLOSE_CODES: list[tuple[type[FolioError], CloseCode]] = [
    (AuthRequired, CloseCode.UNAUTHENTICATED),
    (AuthInvalid, CloseCode.UNAUTHENTICATED),
    (AuthExpired, CloseCode.UNAUTHENTICATED),
    (OrgAccessDenied, CloseCode.FORBIDDEN),
    (EventsForbidden, CloseCode.FORBIDDEN),
    (RateLimitExceeded, CloseCode.TOO_MANY),
    (TooManyStreams, CloseCode.TOO_MANY),
    (SubscriberTooSlow, CloseCode.TOO_MANY),
    (ValidationFailed, CloseCode.POLICY_VIOLATION),
]


@dataclass(frozen=True, slots=True)
class Services:
    hub: Hub
    settings: EventSettings
    sessionmaker: async_sessionmaker[AsyncSession]
    tokens: AccessTokens
    limiter: RateLimiter


async def serve(websocket: WebSocket, services: Services) -> None:
    """Serve an accepted WebSocket until it closes."""
    try:
        since = query_since(websocket)
        access = await handshake(websocket, services.settings)
        if since is not None and (problem := await since_problem(services.sessionmaker, since)) is not None:
            raise problem
        connection = LiveConnection(websocket, services, access, since)
        await connection.run()
    except Close as close:
        await _close(websocket, close)
    except FolioError as error:
        code = next((code for kind, code in _CLOSE_CODES if isinstance(error, kind)), CloseCode.INTERNAL_ERROR)
        await _close(websocket, Close(code, error))
    except WebSocketDisconnect:
        return
    except Exception as error:
        if not is_away(error):
            raise
        log.warning("live_socket_database_unavailable", exc_info=True)
        await _close(websocket, Close(CloseCode.TRY_AGAIN_LATER, ServerBusy(details={"reason": "database"})))


class _Slot:
    """The connection's hub subscription: one of its organization's streams, held from authentication on."""

    def __init__(self, hub: Hub, access: Access, wants: Callable[[LiveEvent], bool]) -> None:
        self.hub = hub
        self.org_id = access.principal.org_id
        self.wants = wants
        self._leave: Callable[[], Awaitable[object]] | None = None

    async def enter(self, since: int | None = None) -> Subscription:
        entered = self.hub.subscribe(self.org_id, self.wants, since=since)
        subscription = await entered.__aenter__()
        self._leave = lambda: entered.__aexit__(None, None, None)
        return subscription

    async def leave(self) -> None:
        leave, self._leave = self._leave, None
        if leave is not None:
            await leave()

    async def resume(self, since: int) -> Subscription:
        """A subscription in place of the current one that first replays the outbox after `since`. Leaving one and
        entering the other never suspends, so no other stream can take the slot in between."""
        await self.leave()
        return await self.enter(since)


class LiveConnection:
    def __init__(self, websocket: WebSocket, services: Services, access: Access, since: int | None) -> None:
        self.websocket = websocket
        self.services = services
        self.settings = services.settings
        self.access = access
        self.since = since
        self.topics: set[Topic] = set()
        self.started = asyncio.Event()  # the first topic is subscribed: events flow from here on
        self._accepts = topics.wants(access.principal, self.topics)
        self._access_changed = asyncio.Event()
        self._sending = asyncio.Lock()
        self._slot = _Slot(services.hub, access, self._wants)

    async def run(self) -> None:
        self.subscription = await self._slot.enter()
        try:
            await self._send(self.access.message())
            async with asyncio.TaskGroup() as group:
                group.create_task(self._receive_forever())
                group.create_task(self._pump())
                group.create_task(self._guard())
        except BaseExceptionGroup as failures:
            # The first task to end cancelled the others; its exception is the connection's outcome.
            raise failures.exceptions[0] from None
        finally:
            await self._slot.leave()

    def _wants(self, event: LiveEvent) -> bool:
        return self._accepts(event)

    def _grant(self, access: Access) -> None:
        self.access = access
        self._accepts = topics.wants(access.principal, self.topics)
        self._access_changed.set()

    # The credential

    async def _guard(self) -> None:
        """Close when the access token expires; check the credential again every RECHECK_SECONDS."""
        while True:
            self._access_changed.clear()
            now = datetime.now(UTC).timestamp()
            deadline = now + RECHECK_SECONDS
            if self.access.expires_at is not None:
                deadline = min(deadline, self.access.expires_at.timestamp())
            try:
                async with asyncio.timeout(max(deadline - now, 0)):
                    await self._access_changed.wait()
                continue
            except TimeoutError:
                pass
            if self.access.expires_at is not None and datetime.now(UTC) >= self.access.expires_at:
                raise Close(CloseCode.UNAUTHENTICATED, AuthExpired())
            services, org_id = self.services, self.access.principal.org_id
            principal = await principal_for(
                services.sessionmaker, services.tokens, credential=self.access.credential, org_id=org_id
            )
            changed = principal != self.access.principal
            self._grant(Access.of(self.access.credential, principal))
            if changed:  # a new role: the client learns that its events changed
                await self._send(self.access.message())

    async def _reauthenticate(self, message: AuthMessage) -> None:
        """A fresh token for the same principal in the same organization; a failed one closes the connection."""
        current = self.access.principal
        if message.org_id not in (None, current.org_id):
            await self._refuse(ValidationFailed("A connection stays in its organization: reconnect to change it."))
            return
        principal = await authenticate(self.websocket, credential=message.token, org_id=current.org_id)
        if (principal.user_id, principal.api_key_id) != (current.user_id, current.api_key_id):
            await self._refuse(ValidationFailed("A connection keeps its principal: reconnect to change it."))
            return
        self._grant(Access.of(message.token, principal))
        await self._send(self.access.message())

    # The stream

    async def _pump(self) -> None:
        """Send the subscription's events as they come, and a heartbeat when none came for a while."""
        heartbeat = self.settings.heartbeat_seconds
        while not self.started.is_set():
            try:
                async with asyncio.timeout(heartbeat):
                    await self.started.wait()
            except TimeoutError:
                await self._send(HEARTBEAT)
        while True:
            event = await self.subscription.next(heartbeat=heartbeat)  # SubscriberTooSlow closes with 4429
            await self._send(event.json().decode() if event is not None else HEARTBEAT)

    # The client's messages

    async def _receive_forever(self) -> None:
        while True:
            message = await receive(self.websocket)
            if isinstance(message, SubscribeMessage):
                await self._subscribe(message)
            elif isinstance(message, UnsubscribeMessage):
                for name in message.topics:
                    if (topic := _topic(name)) is not None:
                        self.topics.discard(topic)
                await self._send(self._subscribed())
            elif isinstance(message, PingMessage):
                await self._send(PONG)
            else:
                await self._reauthenticate(message)

    async def _subscribe(self, message: SubscribeMessage) -> None:
        if message.since is not None:
            problem = (
                ValidationFailed("`since` resumes a stream only before its first topic is subscribed.")
                if self.started.is_set()
                else await since_problem(self.services.sessionmaker, message.since)
            )
            if problem is not None:
                await self._refuse(problem)
                return
            self.since = message.since
        named = {name: _topic(name) for name in message.topics}
        unknown = [name for name, topic in named.items() if topic is None]
        wanted = {topic for topic in named.values() if topic is not None} - self.topics
        if len(self.topics) + len(wanted) > MAX_TOPICS:
            error = ValidationFailed(
                f"A connection follows at most {MAX_TOPICS} topics: unsubscribe some first.",
                details={"max_topics": MAX_TOPICS},
            )
            await self._refuse(error)
            return
        resources = [topic for topic in wanted if topic.resource_id is not None]
        if resources:
            try:
                await self._count_request()
            except RateLimitExceeded as error:
                await self._refuse(error)
                return
            missing = await self._missing(resources)
            unknown += [topic.name for topic in missing]
            wanted -= missing
        if unknown:
            await self._refuse(UnknownTopic(details={"topics": unknown}))
        self.topics |= wanted
        if self.topics and not self.started.is_set():
            if self.since is not None:
                self.subscription = await self._slot.resume(self.since)
            self.started.set()
        await self._send(self._subscribed())

    async def _missing(self, resources: list[Topic]) -> set[Topic]:
        """The resource topics that are not a job, document or batch of the principal's organization."""
        missing = set()
        async with self.services.sessionmaker() as session, session.begin():
            for topic in resources:
                if topic.resource_id is None or not await topics.resource_exists(
                    session, self.access.principal, topic.resource_id
                ):
                    missing.add(topic)
        return missing

    async def _count_request(self) -> None:
        """A subscription that reads the database counts against the rate limit like a request."""
        principal = self.access.principal
        if principal.api_key_id is not None:
            await self.services.limiter.hit(Policy.API_KEY, str(principal.api_key_id))
        else:
            await self.services.limiter.hit(Policy.USER, str(principal.user_id))

    def _subscribed(self) -> str:
        return Subscribed(topics=sorted(topic.name for topic in self.topics)).model_dump_json()

    # Sending

    async def _send(self, text: str) -> None:
        """One message; a peer that does not take it within a heartbeat interval is too slow and is dropped."""
        async with self._sending:
            try:
                async with asyncio.timeout(self.settings.heartbeat_seconds):
                    await self.websocket.send_text(text)
            except TimeoutError:
                raise Close(CloseCode.TOO_MANY, SubscriberTooSlow()) from None

    async def _refuse(self, error: FolioError) -> None:
        await self._send(ErrorMessage.of(error, request_id_var.get()).model_dump_json())


async def _close(websocket: WebSocket, close: Close) -> None:
    """The error message, then the close frame with the error's code as the reason."""
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            await websocket.send_text(ErrorMessage.of(close.error, request_id_var.get()).model_dump_json())
            await websocket.close(close.code, close.error.code)
    except (TimeoutError, WebSocketDisconnect):
        return


def _topic(name: str) -> Topic | None:
    """The topic `name` names, with a resource id in its canonical spelling (one topic however it is written)."""
    topic = Topic.parse(name)
    if topic is None or topic.resource_id is None:
        return topic
    return Topic(str(topic.resource_id), topic.resource_id)
