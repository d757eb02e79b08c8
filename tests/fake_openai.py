"""A stand-in for a paid OpenAI-compatible API: a real HTTP server on localhost speaking its protocol.

It answers `POST /v1/embeddings` with deterministic vectors (the same text always gets the same vector),
`POST /v1/chat/completions` with scripted replies, whole or streamed as server-sent events in OpenAI's
`chat.completion.chunk` format, and `GET /v1/models`. It can be told to fail the next requests with given statuses,
to wait before answering, to break a stream part-way, or to refuse `json_schema` output, and it records what it
received.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from tests.live_server import serve_in_thread

# A reply: fixed text, or text made from the request's JSON body.
Reply = str | Callable[[dict[str, Any]], str]
# FOLIO_OUTBOUND__* of a self-hosted deployment: organizations' settings may point at the fake on 127.0.0.1.
SELF_HOSTED_OUTBOUND: dict[str, Any] = {"allow_private": True}


class StreamBroken(Exception):
    """Raised inside the fake's stream so the server drops the connection mid-response."""


@dataclass
class FakeOpenAI:
    dimension: int = 384
    # Statuses the next requests (of any endpoint) answer with, one each, before normal service resumes.
    fail_next: list[int] = field(default_factory=list)
    # Bodies (content, media type) the next chat requests answer with status 200, as something that is no model
    # would: an HTML page, JSON that is not a completion.
    raw_next: list[tuple[str, str]] = field(default_factory=list)
    # The Retry-After header of those failures (None sends none) and their error message (None: "fake failure N").
    retry_after: str | None = "0"
    failure_message: str | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""
    # Chat replies, used once each in order; then `default_reply` for every request.
    replies: list[Reply] = field(default_factory=list)
    default_reply: Reply = "The fake model answers."
    # Seconds a chat request waits before any answer (timeouts), and a stream before each content chunk (a slow
    # model, for a client that leaves mid-answer).
    delay: float = 0.0
    chunk_delay: float = 0.0
    send_usage: bool = True
    # Content chunks a stream sends before it breaks, and how: the connection drops, or an error event arrives.
    fail_stream_after: int | None = None
    stream_failure: Literal["disconnect", "error_event"] = "disconnect"
    # Answer 400 to `response_format: json_schema`, like servers that only know JSON mode.
    refuse_json_schema: bool = False
    models: list[str] = field(default_factory=lambda: ["fake-chat"])

    def vector(self, text: str) -> list[float]:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        return [float(value) for value in np.random.default_rng(seed).normal(size=self.dimension)]

    def chat_requests(self) -> list[dict[str, Any]]:
        return [request for request in self.requests if request["path"] == "/v1/chat/completions"]

    async def embeddings(self, request: Request) -> JSONResponse:
        body = await self._record(request)
        if self.fail_next:
            return self._failure(self.fail_next.pop(0))
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": self.vector(text)} for i, text in enumerate(inputs)]
        usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})

    async def chat_completions(self, request: Request) -> JSONResponse | StreamingResponse:
        body = await self._record(request)
        if self.fail_next:
            return self._failure(self.fail_next.pop(0))
        if self.raw_next:
            content, media_type = self.raw_next.pop(0)
            return StreamingResponse(iter([content.encode()]), media_type=media_type)
        response_format = body.get("response_format") or {}
        if self.refuse_json_schema and response_format.get("type") == "json_schema":
            error = {"message": "response_format type json_schema is not supported", "type": "invalid_request_error"}
            return JSONResponse({"error": error}, status_code=400)
        # Taken before the delay: a request its client gave up on must not take a later request's reply.
        reply = self.replies.pop(0) if self.replies else self.default_reply
        if self.delay:
            await asyncio.sleep(self.delay)
        text = reply(body) if callable(reply) else reply
        pieces, finish_reason = _pieces(text, body.get("max_tokens"))
        usage = {
            "prompt_tokens": sum(len(str(message["content"]).split()) for message in body["messages"]),
            "completion_tokens": len(pieces),
            "total_tokens": 0,
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and self.send_usage
            events = self._events(body["model"], pieces, finish_reason, usage if include_usage else None)
            return StreamingResponse(events, media_type="text/event-stream")
        completion: dict[str, Any] = {
            "id": f"chatcmpl-fake-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(pieces)},
                    "finish_reason": finish_reason,
                }
            ],
        }
        if self.send_usage:
            completion["usage"] = usage
        return JSONResponse(completion)

    async def list_models(self, request: Request) -> JSONResponse:
        await self._record(request)
        data = [{"id": model, "object": "model", "created": 0, "owned_by": "fake"} for model in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def _record(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = await request.json() if request.method == "POST" else {}
        self.requests.append(
            {"path": request.url.path, "body": body, "authorization": request.headers.get("authorization")}
        )
        return body

    def _failure(self, status: int) -> JSONResponse:
        message = self.failure_message or f"fake failure {status}"
        error = {"error": {"message": message, "type": "fake", "code": str(status)}}
        headers = {} if self.retry_after is None else {"retry-after": self.retry_after}
        return JSONResponse(error, status_code=status, headers=headers)

    async def _events(
        self, model: str, pieces: list[str], finish_reason: str, usage: dict[str, int] | None
    ) -> AsyncIterator[str]:
        identity = {"id": f"chatcmpl-fake-{len(self.requests)}", "object": "chat.completion.chunk", "model": model}

        def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
            payload = {**identity, "created": int(time.time()), "choices": choices, **extra}
            return f"data: {json.dumps(payload)}\n\n"

        yield chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for sent, piece in enumerate(pieces):
            if self.fail_stream_after is not None and sent >= self.fail_stream_after:
                if self.stream_failure == "error_event":
                    yield "data: " + json.dumps({"error": {"message": "fake failure mid-stream", "type": "fake"}})
                    yield "\n\n"
                    return
                raise StreamBroken()
            if self.chunk_delay:
                await asyncio.sleep(self.chunk_delay)
            yield chunk([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
        yield chunk([{"index": 0, "delta": {}, "finish_reason": finish_reason}])
        if usage is not None:
            yield chunk([], usage=usage)
        yield "data: [DONE]\n\n"


def _pieces(text: str, max_tokens: int | None) -> tuple[list[str], str]:
    """The reply as the tokens it is streamed in (a word with its trailing space each), cut at `max_tokens`."""
    words = text.split(" ")
    pieces = [word + " " for word in words[:-1]] + [words[-1]] if text else []
    if max_tokens is not None and len(pieces) > max_tokens:
        return pieces[:max_tokens], "length"
    return pieces, "stop"


def llm_settings(fake: FakeOpenAI, **overrides: Any) -> dict[str, Any]:
    """FOLIO_LLM__* settings pointing at the fake: no SDK retries, short timeouts, a breaker that stays closed."""
    return {
        "provider": "openai",
        "base_url": fake.base_url,
        "api_key": "sk-test",
        "model": "fake-chat",
        "max_retries": 0,
        "timeout_seconds": 2,
        "breaker_failures": 1000,
        **overrides,
    }


@contextmanager
def serve_fake_openai(fake: FakeOpenAI | None = None) -> Iterator[FakeOpenAI]:
    fake = fake or FakeOpenAI()
    app = Starlette(
        routes=[
            Route("/v1/embeddings", fake.embeddings, methods=["POST"]),
            Route("/v1/chat/completions", fake.chat_completions, methods=["POST"]),
            Route("/v1/models", fake.list_models, methods=["GET"]),
        ]
    )
    with serve_in_thread(app, lifespan="off") as url:
        fake.base_url = f"{url}/v1"
        yield fake
