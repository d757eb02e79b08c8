"""How the event streams appear in OpenAPI: the `Event` union as a named component (clients generate one type
per event family from it), and each stream's `text/event-stream` response, its events typed, with examples."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field, Json, RootModel
from typing_extensions import TypedDict

from folio.auth.deps import authenticated
from folio.errors import FolioError, StreamError
from folio.events import envelopes, schemas
from folio.events.sse_stream import RETRY_MILLISECONDS
from folio.openapi import event_stream


class Event(RootModel[envelopes.Event]):
    """One live event: the `data` of each server-sent event (and each WebSocket message and webhook delivery),
    discriminated by `type`."""


_JOB = "0197a3c2-5b1e-7cc4-9d2a-3f6e1b8a9c01"
_DOCUMENT = "0197a3c2-5a90-7d3e-b1c4-8e2f0a6d4b77"
_ORG = "0197a3c1-0f2e-7b3d-8c4a-2e6f1d9b7a55"
_USER = "0197a3c1-0f31-7e0a-9b2c-4d8e6f1a3c22"


def _job_event(id: int | None, type: str, status: str, progress: int, stage: str | None) -> dict[str, Any]:
    return {
        "id": id,
        "type": type,
        "org_id": _ORG,
        "subject": {"type": "job", "id": _JOB},
        "actor": {"type": "system", "id": None},
        "data": {
            "kind": "ingest_document",
            "status": status,
            "progress": progress,
            "stage": stage,
            "message": None,
            "subject_id": _DOCUMENT,
            "attempt": 1,
            "error_code": None,
            "error_message": None,
        },
        "created_at": "2026-05-04T09:12:04.118Z",
    }


_PROGRESS = _job_event(None, "job.progress", "running", 60, "embedding")
_SUCCEEDED = _job_event(1042, "job.succeeded", "succeeded", 100, None)
_READY = {
    "id": 1043,
    "type": "document.ready",
    "org_id": _ORG,
    "subject": {"type": "document", "id": _DOCUMENT},
    "actor": {"type": "system", "id": None},
    "data": {
        "title": "Master services agreement",
        "filename": "msa.pdf",
        "status": "ready",
        "version": 1,
        "error_code": None,
        "error_message": None,
    },
    "created_at": "2026-05-04T09:12:04.131Z",
}
_MEMBER = {
    "id": 1044,
    "type": "member.added",
    "org_id": _ORG,
    "subject": {"type": "member", "id": _USER},
    "actor": {"type": "user", "id": _USER},
    "data": {"user_id": _USER, "email": "ana@example.com", "role": "editor"},
    "created_at": "2026-05-04T09:13:10.002Z",
}


def _wire(*events: dict[str, Any]) -> str:
    lines = [f"retry: {RETRY_MILLISECONDS}", ""]
    for event in events:
        if event["id"] is not None:
            lines.append(f"id: {event['id']}")
        lines += [f"event: {event['type']}", f"data: {json.dumps(event, separators=(',', ':'))}", ""]
    return "\n".join([*lines, ": heartbeat", ""])


class EventMessage(TypedDict):
    """A server-sent event of the live stream: an `Event`, as JSON."""

    event: Annotated[schemas.EventType, Field(description="The event type, as in `data.type`.")]
    data: Json[Event]
    id: NotRequired[Annotated[str, Field(description="The event id; absent for live-only types (`job.progress`).")]]
    retry: NotRequired[int]


class ReconnectMessage(TypedDict):
    """The last event of a stream the server ends, restarting or without its database for now: reconnect with
    `Last-Event-ID` after `retry` milliseconds."""

    event: Literal["restarting", "unavailable"]
    data: Json[StreamError]
    retry: Annotated[int, Field(ge=0, description="Milliseconds to wait before reconnecting.")]
    id: NotRequired[str]


_EVENTS = event_stream("LiveEventMessage", EventMessage | ReconnectMessage)


def stream_response(description: str, *events: dict[str, Any]) -> dict[str, Any]:
    """The 200 `text/event-stream` response: its events typed (`LiveEventMessage`), a stream of them as the
    example, and the description shows it on the wire."""
    messages = [
        {"event": event["type"], "data": json.dumps(event, separators=(",", ":"))}
        | ({} if event["id"] is None else {"id": str(event["id"])})
        for event in events
    ]
    return {
        "description": f"{description}\n\nOn the wire:\n\n```text\n{_wire(*events)}```",
        "content": {"text/event-stream": {**_EVENTS, "example": messages}},
    }


ORG_STREAM = stream_response(
    "The organization's events you may read, oldest first; a comment line (`: heartbeat`) as heartbeat.",
    _PROGRESS,
    _SUCCEEDED,
    _READY,
    _MEMBER,
)
JOB_STREAM = stream_response(
    "The job's state now (an event with no id), then its events as they happen, until its final event.",
    _job_event(None, "job.queued", "queued", 0, None),
    _job_event(1040, "job.started", "running", 0, None),
    _PROGRESS,
    _SUCCEEDED,
)


def stream_responses(stream: dict[str, Any], *errors: type[FolioError]) -> dict[int | str, dict[str, Any]]:
    """A stream route's `responses=`: the event stream, and the errors as JSON. A `model` would describe the errors
    in the route's media type (`text/event-stream`), so their schema is given as JSON content instead."""
    responses = authenticated(*errors)
    for response in responses.values():
        response.pop("model")
        response["content"]["application/json"]["schema"] = {"$ref": "#/components/schemas/ErrorEnvelope"}
    return {**responses, 200: stream}
