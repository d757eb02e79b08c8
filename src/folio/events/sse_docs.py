"""How the event streams appear in OpenAPI: the `Event` union as a named component (clients generate one type
per event family from it), and each stream's `text/event-stream` response with examples."""

from __future__ import annotations

import json
from typing import Any

from pydantic import RootModel

from folio.auth.deps import authenticated
from folio.errors import FolioError
from folio.events import schemas
from folio.events.sse_stream import RETRY_MILLISECONDS


class Event(RootModel[schemas.Event]):
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


# FastAPI describes each item of a stream (OpenAPI 3.2's `itemSchema`); `data` holds one `Event` as JSON.
_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["data", "event"],
    "properties": {
        "id": {"type": "string", "description": "The event id; absent for live-only types (`job.progress`)."},
        "event": {"type": "string", "description": "The event type, as in `data.type`."},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/Event"},
        },
        "retry": {"type": "integer", "description": "Milliseconds to wait before reconnecting (sent first)."},
    },
}


def stream_response(description: str, *events: dict[str, Any]) -> dict[str, Any]:
    """The 200 `text/event-stream` response: `schema` is one event's `data` (what a client parses and types),
    `itemSchema` the whole server-sent event; the examples are events, the description shows the wire."""
    return {
        "model": Event,
        "description": f"{description}\n\nOn the wire:\n\n```text\n{_wire(*events)}```",
        "content": {
            "text/event-stream": {
                "itemSchema": _ITEM_SCHEMA,
                "examples": {event["type"]: {"summary": event["type"], "value": event} for event in events},
            }
        },
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
