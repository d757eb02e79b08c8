"""Event streams are typed in OpenAPI: each stream's events are a named union (by `event`), `data` the JSON of a
named schema; and what the server sends validates against them."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import httpx
import jsonschema_rs
import pytest

from tests.corpus import Doc, ingest
from tests.factories import Account, register, wait_until_finished

Spec = dict[str, Any]
SCHEMAS = "#/components/schemas/"
STREAMS = {
    ("/api/v1/events", "get"): "LiveEventMessage",
    ("/api/v1/jobs/{job_id}/events", "get"): "LiveEventMessage",
    ("/api/v1/answers", "post"): "AnswerStreamEvent",
    ("/api/v1/chats/{chat_id}/messages", "post"): "ChatStreamEvent",
    ("/v1/chat/completions", "post"): "ChatCompletionStreamEvent",
}
CONTRACT = Doc("contract.txt", "Either party may terminate this agreement with ninety days written notice.")


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> Spec:
    document: Spec = (await client.get("/openapi.json")).json()
    return document


def component(spec: Spec, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    return schema


def validator(spec: Spec, name: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.Draft202012Validator(
        {"$ref": SCHEMAS + name, "components": spec["components"]}, validate_formats=True
    )


def payload_of(spec: Spec, event: dict[str, Any]) -> str:
    """The schema `data` holds, by the event's own schema."""
    data = component(spec, event["$ref"].removeprefix(SCHEMAS))["properties"]["data"]
    assert data["contentMediaType"] == "application/json"
    return str(data["contentSchema"]["$ref"].removeprefix(SCHEMAS))


async def test_each_stream_names_its_events(spec: Spec) -> None:
    for (path, method), name in STREAMS.items():
        stream = spec["paths"][path][method]["responses"]["200"]["content"]["text/event-stream"]
        assert stream["itemSchema"] == {"$ref": SCHEMAS + name}, path
        # OpenAPI 3.2: `schema` is the whole stream, an array of its events (what openapi-typescript types).
        assert stream["schema"] == {"type": "array", "items": stream["itemSchema"]}, path
    answer = component(spec, "AnswerStreamEvent")
    assert answer["discriminator"]["propertyName"] == "event"
    assert {event: payload_of(spec, {"$ref": ref}) for event, ref in answer["discriminator"]["mapping"].items()} == {
        "sources": "AnswerSources",
        "delta": "AnswerDelta",
        "done": "AnswerDone",
        "error": "StreamError",
    }
    chat = component(spec, "ChatStreamEvent")
    assert payload_of(spec, {"$ref": chat["discriminator"]["mapping"]["done"]}) == "ChatAnswerDone"
    live = [payload_of(spec, each) for each in component(spec, "LiveEventMessage")["anyOf"]]
    assert live == ["Event", "StreamError"]
    assert component(spec, "StreamError")["properties"]["code"]["enum"]


def events_of(body: str) -> list[dict[str, Any]]:
    """The server-sent events of a body, as OpenAPI's `itemSchema` describes one (comments and a lone `retry:` are
    not events)."""
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "data" in fields:
            events.append({name: int(value) if name == "retry" else value for name, value in fields.items()})
    return events


def assert_valid_stream(spec: Spec, name: str, response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    items = validator(spec, name)
    mapping = component(spec, name)["discriminator"]["mapping"]
    events = events_of(response.text)
    for event in events:
        items.validate(event)
        validator(spec, payload_of(spec, {"$ref": mapping[event["event"]]})).validate(json.loads(event["data"]))
    return [event["event"] for event in events]


async def test_answers_and_chats_stream_what_they_document(spec: Spec, client: httpx.AsyncClient) -> None:
    account: Account = await register(client)
    await ingest(client, account, {"contract": CONTRACT})
    question = {"question": "How much notice is needed to terminate?", "stream": True}

    answered = await client.post("/api/v1/answers", json=question, headers=account.headers)
    assert assert_valid_stream(spec, "AnswerStreamEvent", answered)[0] == "sources"
    assert assert_valid_stream(spec, "AnswerStreamEvent", answered)[-1] == "done"

    chat = await client.post("/api/v1/chats", json={}, headers=account.headers)
    assert chat.status_code == 201, chat.text
    message = {"content": question["question"], "stream": True}
    replied = await client.post(f"/api/v1/chats/{chat.json()['id']}/messages", json=message, headers=account.headers)
    assert assert_valid_stream(spec, "ChatStreamEvent", replied)[-1] == "done"

    whole = await client.post("/api/v1/answers", json={**question, "stream": False}, headers=account.headers)
    assert whole.headers["content-type"] == "application/json"
    validator(spec, "AnswerResponse").validate(whole.json())


async def test_a_job_streams_what_it_documents(spec: Spec, client: httpx.AsyncClient) -> None:
    """A finished job's stream is its final event, then the end."""
    account: Account = await register(client)
    uploaded = await client.post(
        "/api/v1/documents", files=[("files", ("a.txt", b"Some text.", "text/plain"))], headers=account.headers
    )
    assert uploaded.status_code == 202, uploaded.text
    job_id = UUID(uploaded.json()["items"][0]["job_id"])
    await wait_until_finished(client, account, job_id)
    response = await client.get(f"/api/v1/jobs/{job_id}/events", headers=account.headers)
    assert response.status_code == 200, response.text
    [event] = events_of(response.text)
    validator(spec, "LiveEventMessage").validate(event)
    validator(spec, "Event").validate(json.loads(event["data"]))
    assert event["event"] == "job.succeeded"
