"""What the answer endpoints share: the request's answerer, and answer events on the wire as SSE."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any, Literal, NotRequired, TypeVar

import anyio
import structlog
from fastapi import Request
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import Field, Json
from sqlalchemy.ext.asyncio import AsyncSession
from typing_extensions import TypedDict

from folio.answers.schemas import AnswerDelta, AnswerDone, AnswerSources, ChatAnswerDone
from folio.answers.service import Answerer, Event
from folio.auth.principal import Principal
from folio.db import release
from folio.embeddings.factory import LazyProvider
from folio.errors import FolioError, InternalError, StreamError
from folio.events.sse_stream import RETRY_MILLISECONDS
from folio.llm.errors import (
    LLMBusy,
    LLMCredentialsUnreadable,
    LLMEndpointForbidden,
    LLMInvalidResponse,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
)
from folio.llm.extractive import ExtractiveEngine
from folio.llm.registry import LLMRegistry
from folio.openapi import event_stream
from folio.plans.errors import PlanLimitReached
from folio.settings import EventSettings, Settings
from folio.usage.errors import BudgetExceeded
from folio.usage.service import Meter

log = structlog.get_logger(__name__)

T = TypeVar("T")

# The server's default; a route passes `settings.events.heartbeat_seconds`.
HEARTBEAT_SECONDS: float = EventSettings.model_fields["heartbeat_seconds"].default
HEARTBEAT = format_sse_event(comment="heartbeat")
# The longest a closed stream waits for its reader's cleanup: closing the model's response, storing its usage.
_READER_CLEANUP_SECONDS = 15.0

# What asking the organization's language model may answer instead.
LLM_FAILURES = (
    LLMTimeout,
    LLMUnavailable,
    LLMInvalidResponse,
    LLMEndpointForbidden,
    LLMRateLimited,
    LLMBusy,
    LLMCredentialsUnreadable,
    BudgetExceeded,
    PlanLimitReached,
)


class _Numbered(TypedDict):
    id: Annotated[str, Field(description="The event's number in the stream: 1, 2, …")]
    retry: NotRequired[Annotated[int, Field(description="With the first event: milliseconds before a retry.")]]


class AnswerSourcesEvent(_Numbered):
    """The first event: the numbered passages the answer is written from."""

    event: Literal["sources"]
    data: Json[AnswerSources]


class AnswerDeltaEvent(_Numbered):
    """The next piece of the answer's text."""

    event: Literal["delta"]
    data: Json[AnswerDelta]


class AnswerDoneEvent(_Numbered):
    """The last event: whether it answers, what it cites, the model and its usage."""

    event: Literal["done"]
    data: Json[AnswerDone]


class ChatAnswerDoneEvent(_Numbered):
    """The last event of a chat's answer: `done`, with the stored assistant turn."""

    event: Literal["done"]
    data: Json[ChatAnswerDone]


class AnswerErrorEvent(_Numbered):
    """The language model failed midway: the last event."""

    event: Literal["error"]
    data: Json[StreamError]


def _answer_events(name: str, done: Any) -> dict[str, Any]:
    """The 200 `text/event-stream` response of an answer (`stream: true`): its events, a union by `event`."""
    events = Annotated[AnswerSourcesEvent | AnswerDeltaEvent | done | AnswerErrorEvent, Field(discriminator="event")]
    return {
        "description": "The answer's events when `stream` is true, numbered; a comment line (`: heartbeat`) while "
        "the model is silent.",
        "content": {"text/event-stream": event_stream(name, events)},
    }


ANSWER_EVENTS = _answer_events("AnswerStreamEvent", AnswerDoneEvent)
CHAT_EVENTS = _answer_events("ChatStreamEvent", ChatAnswerDoneEvent)


async def answerer_for(request: Request, session: AsyncSession, principal: Principal, kind: str) -> Answerer:
    """The embedding model, the organization's language model (None: the offline engine) and the limits.

    The model is metered: its calls are recorded as usage of `kind`, and a spent monthly budget answers 402
    `BUDGET_EXCEEDED` now, before any streaming starts.
    """
    settings: Settings = request.app.state.settings
    embedder: LazyProvider = request.app.state.embedder
    registry: LLMRegistry = request.app.state.llm
    meter: Meter = request.app.state.usage
    llm = await registry.for_org(session, principal.org_id)
    # What follows is slow (a model call, an embedding): no connection is held across it.
    await release(session)
    if llm is not None:
        await meter.check_budget(principal)
    return Answerer(
        embedder=embedder.get(),
        llm=None if llm is None else meter.metered(llm, principal, kind),
        search=settings.search,
        limits=settings.llm,
    )


async def model_name(request: Request, session: AsyncSession, principal: Principal) -> str:
    """The name of the model that answers for the organization (listing it spends nothing)."""
    registry: LLMRegistry = request.app.state.llm
    llm = await registry.for_org(session, principal.org_id)
    return ExtractiveEngine.model if llm is None else llm.model


def sse(events: AsyncIterator[Event], *, heartbeat_seconds: float = HEARTBEAT_SECONDS) -> EventSourceResponse:
    """The events on the wire, numbered (`id:` 1, 2, …), the first with the `retry:` line, and a comment as heartbeat
    while the model is silent; a failure after the stream has started becomes an `error` event."""

    async def encoded() -> AsyncIterator[bytes]:
        ids = itertools.count(1)
        retry: int | None = RETRY_MILLISECONDS
        try:
            async for event in with_heartbeats(events, heartbeat_seconds):
                if event is None:
                    yield HEARTBEAT
                    continue
                yield format_sse_event(
                    event=event.name, data_str=json.dumps(event.data), id=str(next(ids)), retry=retry
                )
                retry = None
        except FolioError as error:
            yield _error_event(error, next(ids), retry)
        except Exception:
            log.exception("answer_stream_failed")
            yield _error_event(InternalError(), next(ids), retry)

    return EventSourceResponse(encoded(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def with_heartbeats(items: AsyncIterator[T], seconds: float) -> AsyncGenerator[T | None, None]:
    """The items, and None whenever `seconds` pass without one: time for a heartbeat.

    A task of its own reads the items from start to end, so waiting for the next one never cancels a read (a
    model's stream stays intact) and whatever the items' iterator holds is entered and left in one task. Closing
    this iterator cancels that task."""
    queue: asyncio.Queue[tuple[T] | Exception | None] = asyncio.Queue(maxsize=1)

    async def read() -> None:
        try:
            async for item in items:
                await queue.put((item,))
        except Exception as error:
            await queue.put(error)
        else:
            await queue.put(None)
        finally:
            # Cancelled while it waits for room in the queue, the items are left mid-way: they end here, in this task,
            # before the stream's closing returns, not whenever the garbage collector finds them.
            if isinstance(items, AsyncGenerator):
                await items.aclose()

    reader = asyncio.create_task(read())
    try:
        while True:
            try:
                async with asyncio.timeout(seconds):
                    received = await queue.get()
            except TimeoutError:
                yield None
                continue
            if received is None:
                return
            if isinstance(received, Exception):
                raise received
            yield received[0]
    finally:
        reader.cancel()
        # Shielded, and bounded: cancelled again while it waits (as a request is when its client leaves), the wait
        # would cancel the reader a second time, in the middle of its own cleanup (a stream's usage being stored).
        with anyio.move_on_after(_READER_CLEANUP_SECONDS, shield=True):
            await asyncio.gather(reader, return_exceptions=True)


def _error_event(error: FolioError, id: int, retry: int | None) -> bytes:
    return format_sse_event(
        event="error",
        data_str=json.dumps({"code": error.code, "message": error.detail_message}),
        id=str(id),
        retry=retry,
    )
