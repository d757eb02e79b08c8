"""The bus that carries committed events from the process that made them to every API process.

Embedded, it is a function call into this process's hub. Scale-out, it is one Redis pub/sub channel: pub/sub, not
a stream, because the outbox already is the durable, ordered log. The bus only has to be fast; whatever it drops
(a process that was reconnecting, Redis restarting) the hub's relay reads back from the outbox. A Redis stream
would keep a second copy of the log, with its own trimming and consumer groups, for nothing the outbox lacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from folio.events.outbox import LiveEvent

log = structlog.get_logger(__name__)

CHANNEL = "folio:events"

Receiver = Callable[[Sequence[LiveEvent]], None]
# Called when the bus may have dropped events: the hub reads the outbox at once.
Resync = Callable[[], None]


class MemoryBus:
    """One process: publishing hands the events to the receiver (the hub) directly."""

    def __init__(self) -> None:
        self.receiver: Receiver | None = None

    async def publish(self, events: Sequence[LiveEvent]) -> None:
        if self.receiver is not None:
            self.receiver(events)

    async def listen(self, receiver: Receiver, resync: Resync) -> None:
        self.receiver = receiver

    async def close(self) -> None:
        self.receiver = None


class RedisBus:
    """Every process publishes to one channel; every API process listens to it."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._listener: asyncio.Task[None] | None = None
        self._resync: Resync = lambda: None

    async def publish(self, events: Sequence[LiveEvent]) -> None:
        message = b"[" + b",".join(event.json() for event in events) + b"]"
        await self.redis.publish(CHANNEL, message)

    async def listen(self, receiver: Receiver, resync: Resync) -> None:
        self._resync = resync
        self._listener = asyncio.create_task(self._listen(receiver, resync))

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)

    def _reconnected(self, connection: object) -> None:
        self._resync()

    async def _listen(self, receiver: Receiver, resync: Resync) -> None:
        delay = 0.1
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(CHANNEL)
                # redis-py reconnects a pub/sub connection and subscribes again by itself, without telling its
                # reader: the callback makes every reconnection read the outbox too.
                if pubsub.connection is not None:
                    pubsub.connection.register_connect_callback(self._reconnected)
                # Events published while this process was not subscribed are in the outbox.
                resync()
                delay = 0.1
                async for message in pubsub.listen():
                    receiver([LiveEvent.from_body(body) for body in orjson.loads(message["data"])])
            except (RedisError, OSError):
                log.warning("event_bus_disconnected", retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)
            finally:
                await pubsub.aclose()


Bus = MemoryBus | RedisBus


def bus_for(redis: Redis | None) -> Bus:
    return RedisBus(redis) if redis is not None else MemoryBus()
