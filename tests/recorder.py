"""An ASGI wrapper around the real app that records the requests it serves and can play an older server: no event
stream (404), no batch read of jobs (`ids` ignored), event streams cut short after their first stored event, or
streams that lose every event of some types."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import orjson

DOCUMENTS = "/api/v1/documents"
EVENTS = "/api/v1/events"
JOBS = "/api/v1/jobs"

Scope = dict[str, Any]
Message = dict[str, Any]


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    @property
    def ids(self) -> list[str]:
        """The job ids of a batch read, whichever way they were written."""
        return [token for value in self.query.get("ids", []) for token in value.split(",") if token]


@dataclass
class Recorder:
    app: Any
    requests: list[Seen] = field(default_factory=list)
    without_stream: bool = False
    without_batch_reads: bool = False
    streams_to_cut: int = 0
    lost_types: frozenset[str] = frozenset()
    cut_after: list[str] = field(default_factory=list)  # the id of the last event each cut stream sent

    def reset(self) -> None:
        self.requests.clear()
        self.cut_after.clear()
        self.without_stream = self.without_batch_reads = False
        self.streams_to_cut = 0
        self.lost_types = frozenset()

    def made(self, method: str, path: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.method == method and seen.path == path]

    def made_under(self, prefix: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path.startswith(prefix)]

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope["query_string"].decode(), keep_blank_values=True)
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        self.requests.append(Seen(scope["method"], scope["path"], query, headers))
        if scope["path"] == EVENTS and self.without_stream:
            await _not_found(send)
            return
        if scope["path"] == JOBS and self.without_batch_reads:
            query.pop("ids", None)
            scope = {**scope, "query_string": urlencode(query, doseq=True).encode()}
        if scope["path"] == EVENTS and self.streams_to_cut:
            self.streams_to_cut -= 1
            self.cut_after.append(await _cut_after_first_stored_event(self.app, scope, receive, send))
            return
        if scope["path"] == EVENTS and self.lost_types:
            await self.app(scope, receive, _losing(send, self.lost_types))
            return
        await self.app(scope, receive, send)


def _losing(send: Any, types: frozenset[str]) -> Any:
    """`send`, except for the events of these types (one event per body message, as the app writes them)."""
    lost = {f"event: {type}".encode() for type in types}

    async def relay(message: Message) -> None:
        lines = message.get("body", b"").splitlines() if message["type"] == "http.response.body" else []
        if not lost.intersection(lines):
            await send(message)

    return relay


async def _not_found(send: Any) -> None:
    body = orjson.dumps({"error": {"code": "NOT_FOUND", "message": "Not found.", "details": {}, "request_id": None}})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _cut_after_first_stored_event(app: Any, scope: Scope, receive: Any, send: Any) -> str:
    """Relay the stream until its first event with an id, then end the response as a dropped stream would;
    that event's id."""
    cut = asyncio.Event()
    ids: list[str] = []

    async def relay(message: Message) -> None:
        await send(message)
        body: bytes = message.get("body", b"")
        ids.extend(line[3:].decode().strip() for line in body.splitlines() if line.startswith(b"id:"))
        if message["type"] == "http.response.body" and ids:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            cut.set()
            await asyncio.Event().wait()  # until the app is cancelled below

    serving = asyncio.create_task(app(scope, receive, relay))
    cutting = asyncio.create_task(cut.wait())
    await asyncio.wait({serving, cutting}, return_when=asyncio.FIRST_COMPLETED)
    for task in (serving, cutting):
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    return ids[-1] if ids else ""
