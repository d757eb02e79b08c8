"""What the answer endpoints share: the request's answerer, and answer events on the wire as SSE."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import structlog
from fastapi import Request
from fastapi.sse import EventSourceResponse, format_sse_event
from sqlalchemy.ext.asyncio import AsyncSession

from folio.answers.service import Answerer, Event
from folio.auth.principal import Principal
from folio.db import release
from folio.embeddings.factory import LazyProvider
from folio.errors import FolioError, InternalError
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
from folio.settings import Settings
from folio.usage.errors import BudgetExceeded
from folio.usage.service import Meter

log = structlog.get_logger(__name__)

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
)

# One server-sent event of an answer, as OpenAPI describes a stream's items; `data` is a JSON object.
ANSWER_EVENTS: dict[str, Any] = {
    "description": "The answer's events when `stream` is true.",
    "content": {
        "text/event-stream": {
            "schema": {
                "type": "object",
                "required": ["event", "data"],
                "properties": {
                    "event": {"type": "string", "enum": ["sources", "delta", "done", "error"]},
                    "data": {"type": "string", "description": "A JSON object."},
                },
            }
        }
    },
}


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


def sse(events: AsyncIterator[Event]) -> EventSourceResponse:
    """The events on the wire; a failure after the stream has started becomes an `error` event."""

    async def encoded() -> AsyncIterator[bytes]:
        try:
            async for event in events:
                yield format_sse_event(event=event.name, data_str=json.dumps(event.data))
        except FolioError as error:
            yield _error_event(error)
        except Exception:
            log.exception("answer_stream_failed")
            yield _error_event(InternalError())

    return EventSourceResponse(encoded(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _error_event(error: FolioError) -> bytes:
    return format_sse_event(event="error", data_str=json.dumps({"code": error.code, "message": error.detail_message}))
