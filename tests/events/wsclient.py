"""A small client of the live-event WebSocket, and a Folio app served over real HTTP on the test's event loop (so a
test can reach the app's hub and database while it talks to the server as a client would).

Reusable by any test: `async with serve(database_url, events={...}) as server:` then
`async with live_socket(server.ws_url, bearer=token) as socket:`; `await socket.subscribe("org")`,
`await socket.events(3)`, `await socket.closed()`.
"""

from __future__ import annotations

import asyncio
import socket as sockets
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from folio.main import create_app
from tests.conftest import make_settings

# Every wait of these tests is bounded, so a server that never answers fails the test instead of hanging it.
WAIT_SECONDS = 30.0


@dataclass
class Server:
    app: FastAPI
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/api/v1/ws"

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=WAIT_SECONDS)


@asynccontextmanager
async def serve(database_url: str, **overrides: Any) -> AsyncIterator[Server]:
    """A Folio app with the test settings and `overrides`, served by uvicorn (WebSockets on) on a free port."""
    app = create_app(make_settings(database_url, **overrides))
    async with app.router.lifespan_context(app):
        listener = sockets.socket(sockets.AF_INET, sockets.SOCK_STREAM)
        listener.setsockopt(sockets.SOL_SOCKET, sockets.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        config = uvicorn.Config(
            app, lifespan="off", ws="websockets-sansio", http="h11", log_config=None, access_log=False
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                while not server.started:
                    if task.done():
                        task.result()
                    await asyncio.sleep(0.01)
            yield Server(app, f"http://127.0.0.1:{port}")
        finally:
            server.should_exit = True
            await task
            listener.close()


@dataclass
class LiveSocket:
    connection: ClientConnection
    # Messages read while looking for something else (heartbeats excepted), oldest first.
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def subprotocol(self) -> str | None:
        return self.connection.subprotocol

    async def send(self, message: Mapping[str, Any] | str | bytes) -> None:
        await self.connection.send(message if isinstance(message, str | bytes) else orjson.dumps(message).decode())

    async def receive(self, *, heartbeats: bool = False) -> dict[str, Any]:
        """The next message (heartbeats skipped unless asked for)."""
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                message: dict[str, Any] = orjson.loads(await self.connection.recv())
                if heartbeats or message.get("type") != "heartbeat":
                    self.seen.append(message)
                    return message

    async def expect(self, type: str) -> dict[str, Any]:
        """The next message, which must be of `type`."""
        message = await self.receive()
        assert message["type"] == type, message
        return message

    async def subscribe(self, *topics: str, since: int | None = None) -> dict[str, Any]:
        """Subscribe and return the server's `subscribed` answer (an error about refused topics may come first:
        it is in `seen`)."""
        message: dict[str, Any] = {"type": "subscribe", "topics": list(topics)}
        if since is not None:
            message["since"] = since
        await self.send(message)
        return await self._subscribed()

    async def unsubscribe(self, *topics: str) -> dict[str, Any]:
        """Unsubscribe and return the server's `subscribed` answer (the topics left)."""
        await self.send({"type": "unsubscribe", "topics": list(topics)})
        return await self._subscribed()

    async def _subscribed(self) -> dict[str, Any]:
        """The server's next `subscribed` answer; events of the topics held meanwhile are kept in `seen`."""
        while True:
            answer = await self.receive()
            if answer["type"] == "subscribed":
                return answer

    async def events(self, count: int) -> list[dict[str, Any]]:
        """The next `count` events (messages whose type holds a dot); the server's own messages in between are kept
        in `seen`."""
        events: list[dict[str, Any]] = []
        while len(events) < count:
            message = await self.receive()
            if "." in message["type"]:
                events.append(message)
        return events

    async def events_until(self, type: str, subject_id: str) -> list[dict[str, Any]]:
        """Events up to and including the first of `type` about `subject_id`."""
        events = []
        while True:
            [event] = await self.events(1)
            events.append(event)
            if event["type"] == type and event["subject"]["id"] == subject_id:
                return events

    async def closed(self) -> tuple[int, str]:
        """Read until the server closes; its close code and reason. Messages read meanwhile are in `seen`."""
        async with asyncio.timeout(WAIT_SECONDS):
            try:
                while True:
                    self.seen.append(orjson.loads(await self.connection.recv()))
            except ConnectionClosed as closed:
                frame = closed.rcvd
        if frame is None:
            raise AssertionError("the connection dropped without a close frame")
        return frame.code, frame.reason

    def errors(self) -> list[dict[str, Any]]:
        return [message for message in self.seen if message["type"] == "error"]


@asynccontextmanager
async def live_socket(
    url: str,
    *,
    bearer: str | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str | int] | None = None,
    subprotocols: Sequence[str] | None = None,
    authenticated: bool = True,
) -> AsyncIterator[LiveSocket]:
    """A connection to `url`. `bearer` is offered the browser's way (subprotocols `folio.v1` and `bearer.<it>`);
    `headers` carry a credential the other way. With `authenticated`, the server's `authenticated` message is
    awaited first."""
    offered = list(subprotocols or ([] if bearer is None else ["folio.v1", f"bearer.{bearer}"]))
    if params:
        url = f"{url}?{urlencode(params)}"
    async with connect(
        url,
        subprotocols=[Subprotocol(each) for each in offered] or None,
        additional_headers=dict(headers or {}),
        proxy=None,
        open_timeout=WAIT_SECONDS,
        max_queue=None,
    ) as connection:
        socket = LiveSocket(connection)
        if authenticated:
            await socket.expect("authenticated")
        yield socket
