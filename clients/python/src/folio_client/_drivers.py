"""The I/O of the two clients: each runs flows (`_core.py`), doing what they yield with httpx, sync or async.

This is the only code `Folio` and `AsyncFolio` do not share. A listened event stream is read by a thread (sync) or
a task (async) of its own, so that waiting for its next event can time out, and so that the server never sees an
unread stream back up while the flow does something else.
"""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import time
from collections.abc import Awaitable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import suppress
from typing import TypeVar, cast

import httpx

from folio_client._core import (
    Action,
    Core,
    Flow,
    Listen,
    NextEvent,
    ReadBody,
    Refresh,
    Send,
    Sleep,
    StreamEnded,
)
from folio_client._sse import ServerSentEvent, SSEDecoder

T = TypeVar("T")
R = TypeVar("R")
Item = ServerSentEvent | StreamEnded


class SyncDriver:
    def __init__(self, core: Core, http: httpx.Client) -> None:
        self.core = core
        self.http = http
        self._refresh_lock = threading.Lock()

    def run(self, flow: Flow[T]) -> T:
        listeners: list[_ThreadListener] = []
        try:
            outcome: object = None
            failure: Exception | None = None
            while True:
                try:
                    action = flow.throw(failure) if failure is not None else flow.send(outcome)
                except StopIteration as stop:
                    return cast(T, stop.value)
                outcome, failure = None, None
                try:
                    outcome = self._do(action, listeners)
                except Exception as exc:  # handed to the flow, which raises it if it does not handle it
                    failure = exc
        finally:
            flow.close()
            for listener in listeners:
                listener.close()

    def map(self, flows: Iterable[Flow[R]], concurrency: int) -> list[R]:
        """The flows' results in order, at most `concurrency` running at once (threads); the first failure stops
        the flows not started yet and is raised once the running ones have ended."""
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="folio") as pool:
            futures = [pool.submit(self.run, flow) for flow in flows]
            try:
                wait(futures, return_when=FIRST_EXCEPTION)
            except BaseException:  # interrupted: the running flows end, the others never start
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            failures = [error for future in futures if future.done() and (error := future.exception()) is not None]
            if failures:
                pool.shutdown(wait=False, cancel_futures=True)
                raise failures[0]
        return [future.result() for future in futures]

    def _do(self, action: Action, listeners: list[_ThreadListener]) -> object:
        if isinstance(action, Send):
            return self.http.send(action.request, stream=action.stream)
        if isinstance(action, ReadBody):
            try:
                action.response.read()
            finally:
                action.response.close()
            return None
        if isinstance(action, Sleep):
            time.sleep(action.seconds)
            return None
        if isinstance(action, Refresh):
            with self._refresh_lock:
                if action.stale is None or self.core.credentials.access_token == action.stale:
                    return self.run(self.core.refresh())
            return None
        if isinstance(action, Listen):
            listener = _ThreadListener(action.response)
            listeners.append(listener)
            return listener
        if isinstance(action, NextEvent):
            return cast(_ThreadListener, action.handle).next(action.timeout)
        cast(_ThreadListener, action.handle).close()
        return None


class _ThreadListener:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._items: queue.Queue[Item] = queue.Queue()
        self._ended: StreamEnded | None = None
        self._thread = threading.Thread(target=self._read, name="folio-events", daemon=True)
        self._thread.start()

    def next(self, timeout: float) -> Item | None:
        if self._ended is not None:
            return self._ended
        try:
            item = self._items.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(item, StreamEnded):
            self._ended = item
        return item

    def close(self) -> None:
        # Closing a socket does not wake a thread blocked reading it; shutting it down does.
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)

    def _read(self) -> None:
        decoder = SSEDecoder()
        reason = "the server ended the stream"
        try:
            for line in self._response.iter_lines():
                event = decoder.feed(line)
                if event is not None:
                    self._items.put(event)
        except (httpx.HTTPError, httpx.StreamError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
        finally:
            self._response.close()
            self._items.put(StreamEnded(reason, decoder.last_event_id))


class AsyncDriver:
    def __init__(self, core: Core, http: httpx.AsyncClient) -> None:
        self.core = core
        self.http = http
        self._refresh_lock = asyncio.Lock()

    async def run(self, flow: Flow[T]) -> T:
        listeners: list[_TaskListener] = []
        try:
            outcome: object = None
            failure: Exception | None = None
            while True:
                try:
                    action = flow.throw(failure) if failure is not None else flow.send(outcome)
                except StopIteration as stop:
                    return cast(T, stop.value)
                outcome, failure = None, None
                try:
                    outcome = await self._do(action, listeners)
                except Exception as exc:  # handed to the flow, which raises it if it does not handle it
                    failure = exc
        finally:
            flow.close()
            for listener in listeners:
                await listener.close()

    async def map(self, flows: Iterable[Flow[R]], concurrency: int) -> list[R]:
        """As `SyncDriver.map`, with tasks."""
        slots = asyncio.Semaphore(max(1, concurrency))

        async def limited(flow: Flow[R]) -> R:
            async with slots:
                return await self.run(flow)

        return await _all_or_nothing([limited(flow) for flow in flows])

    async def _do(self, action: Action, listeners: list[_TaskListener]) -> object:
        if isinstance(action, Send):
            return await self.http.send(action.request, stream=action.stream)
        if isinstance(action, ReadBody):
            try:
                await action.response.aread()
            finally:
                await action.response.aclose()
            return None
        if isinstance(action, Sleep):
            await asyncio.sleep(action.seconds)
            return None
        if isinstance(action, Refresh):
            async with self._refresh_lock:
                if action.stale is None or self.core.credentials.access_token == action.stale:
                    return await self.run(self.core.refresh())
            return None
        if isinstance(action, Listen):
            listener = _TaskListener(action.response)
            listeners.append(listener)
            return listener
        if isinstance(action, NextEvent):
            return await cast(_TaskListener, action.handle).next(action.timeout)
        await cast(_TaskListener, action.handle).close()
        return None


class _TaskListener:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._items: asyncio.Queue[Item] = asyncio.Queue()
        self._ended: StreamEnded | None = None
        self._task = asyncio.ensure_future(self._read())

    async def next(self, timeout: float) -> Item | None:
        if self._ended is not None:
            return self._ended
        try:
            item = await asyncio.wait_for(self._items.get(), timeout)
        except asyncio.TimeoutError:
            return None
        if isinstance(item, StreamEnded):
            self._ended = item
        return item

    async def close(self) -> None:
        self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task

    async def _read(self) -> None:
        decoder = SSEDecoder()
        reason = "the server ended the stream"
        try:
            async for line in self._response.aiter_lines():
                event = decoder.feed(line)
                if event is not None:
                    self._items.put_nowait(event)
        except (httpx.HTTPError, httpx.StreamError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
        finally:
            await self._response.aclose()
            self._items.put_nowait(StreamEnded(reason, decoder.last_event_id))


async def _all_or_nothing(awaitables: Sequence[Awaitable[R]]) -> list[R]:
    """The results in order; on the first failure the others are cancelled, and it is raised."""
    tasks = [asyncio.ensure_future(each) for each in awaitables]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
