"""Answers with citations (`POST /answers`), whole or streamed as typed events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from types import TracebackType

import httpx
from pydantic import ValidationError

from folio_client._core import Call, Core, Flow, path
from folio_client._sse import ServerSentEvent, SSEDecoder
from folio_client.errors import APIConnectionError, InvalidResponseError, StreamError
from folio_client.models import Answer, AnswerEvent, DeltaEvent, DoneEvent, Source, SourcesEvent
from folio_client.resources._base import AsyncResource, SyncResource
from folio_client.resources.search import SearchFilters

_EVENTS: dict[str, type[SourcesEvent] | type[DeltaEvent] | type[DoneEvent]] = {
    "sources": SourcesEvent,
    "delta": DeltaEvent,
    "done": DoneEvent,
}


def _call(question: str, filters: SearchFilters | None, top_k: int | None, *, stream: bool) -> Call:
    body: dict[str, object] = {"question": question, "stream": stream}
    if filters is not None:
        body["filters"] = filters
    if top_k is not None:
        body["top_k"] = top_k
    headers = {"Accept": "text/event-stream"} if stream else {}
    # Answering changes nothing (it is metered, and a retry is only sent when the first did not get through or
    # the server asked for it).
    return Call("POST", path("/answers"), json=body, headers=headers, retry_safe=True, stream=stream)


def _create(core: Core, question: str, filters: SearchFilters | None, top_k: int | None) -> Flow[Answer]:
    return core.fetch(_call(question, filters, top_k, stream=False), Answer)


def _open(core: Core, question: str, filters: SearchFilters | None, top_k: int | None) -> Flow[httpx.Response]:
    return core.send(_call(question, filters, top_k, stream=True))


class _Assembly:
    """A streamed answer's events, put together as the `Answer` the whole request would have given."""

    def __init__(self) -> None:
        self.sources: list[Source] = []
        self.text: list[str] = []
        self.done: DoneEvent | None = None

    def take(self, event: ServerSentEvent) -> AnswerEvent | None:
        """The event, typed (None for a kind this client does not know); an `error` event raises StreamError."""
        if event.event == "error":
            try:
                error = json.loads(event.data)
            except ValueError:
                error = {}
            raise StreamError(str(error.get("message") or "The answer failed."), code=str(error.get("code")))
        kind = _EVENTS.get(event.event)
        if kind is None:
            return None
        try:
            typed = kind.model_validate_json(event.data)
        except ValidationError as exc:
            raise InvalidResponseError(f"An answer's {event.event} event is malformed.", status=200) from exc
        if isinstance(typed, SourcesEvent):
            self.sources = typed.sources
        elif isinstance(typed, DeltaEvent):
            self.text.append(typed.text)
        else:
            self.done = typed
        return typed

    def answer(self) -> Answer:
        if self.done is None:
            raise StreamError("The answer's stream ended before its last event.", code="STREAM_INCOMPLETE")
        return Answer(
            answer="".join(self.text),
            answered=self.done.answered,
            citations=self.done.citations,
            sources=self.sources,
            model=self.done.model,
            usage=self.done.usage,
        )


class AnswerStream:
    """A streamed answer: iterate it for `SourcesEvent`, `DeltaEvent`s and `DoneEvent` as they come (an `error`
    event raises `StreamError`), or call `until_done()` for the whole `Answer`. Close it (or use `with`) to stop
    early."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._assembly = _Assembly()

    def __iter__(self) -> Iterator[AnswerEvent]:
        decoder = SSEDecoder()
        try:
            for line in self.response.iter_lines():
                event = decoder.feed(line)
                typed = None if event is None else self._assembly.take(event)
                if typed is not None:
                    yield typed
        except httpx.TransportError as exc:
            raise APIConnectionError(f"The answer's stream broke ({exc or type(exc).__name__}).") from exc
        finally:
            self.close()

    def text(self) -> Iterator[str]:
        """The answer's text, piece by piece."""
        for event in self:
            if isinstance(event, DeltaEvent):
                yield event.text

    def until_done(self) -> Answer:
        for _ in self:
            pass
        return self._assembly.answer()

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> AnswerStream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class AsyncAnswerStream:
    """`AnswerStream` for `AsyncFolio`: `async for`, `await until_done()`, `async with`."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._assembly = _Assembly()

    async def __aiter__(self) -> AsyncIterator[AnswerEvent]:
        decoder = SSEDecoder()
        try:
            async for line in self.response.aiter_lines():
                event = decoder.feed(line)
                typed = None if event is None else self._assembly.take(event)
                if typed is not None:
                    yield typed
        except httpx.TransportError as exc:
            raise APIConnectionError(f"The answer's stream broke ({exc or type(exc).__name__}).") from exc
        finally:
            await self.close()

    async def text(self) -> AsyncIterator[str]:
        async for event in self:
            if isinstance(event, DeltaEvent):
                yield event.text

    async def until_done(self) -> Answer:
        async for _ in self:
            pass
        return self._assembly.answer()

    async def close(self) -> None:
        await self.response.aclose()

    async def __aenter__(self) -> AsyncAnswerStream:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.close()


class Answers(SyncResource):
    def create(self, question: str, *, filters: SearchFilters | None = None, top_k: int | None = None) -> Answer:
        """An answer from the organization's documents, each claim citing its source ([1], [2]…); `print` it for
        the text and its citations."""
        return self._run(_create(self._core, question, filters, top_k))

    def stream(self, question: str, *, filters: SearchFilters | None = None, top_k: int | None = None) -> AnswerStream:
        """The answer as it is written (see `AnswerStream`)."""
        return AnswerStream(self._run(_open(self._core, question, filters, top_k)))


class AsyncAnswers(AsyncResource):
    async def create(self, question: str, *, filters: SearchFilters | None = None, top_k: int | None = None) -> Answer:
        return await self._run(_create(self._core, question, filters, top_k))

    async def stream(
        self, question: str, *, filters: SearchFilters | None = None, top_k: int | None = None
    ) -> AsyncAnswerStream:
        return AsyncAnswerStream(await self._run(_open(self._core, question, filters, top_k)))
