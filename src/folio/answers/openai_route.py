"""The route class of the /v1 router: its errors leave in OpenAI's shape (`folio.answers.openai_errors`), and
its OpenAPI `responses=` say so."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
import structlog
from fastapi.routing import APIRoute
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import Message, Receive, Scope, Send

from folio.answers.openai_errors import OpenAIErrorEnvelope, openai_error
from folio.auth.errors import AuthExpired, AuthInvalid, AuthRequired, OrgAccessDenied
from folio.db_retry import busy_answer
from folio.error_handlers import error_responses
from folio.errors import FolioError, InternalError, NulCharacter, PayloadTooLarge, RateLimitExceeded, ValidationFailed
from folio.observability.context import request_id_var

log = structlog.get_logger(__name__)


class OpenAIRoute(APIRoute):
    """A route whose errors are in OpenAI's shape: the envelope Folio's handlers render is rewritten on its way out,
    and a failure no handler answered is a `server_error` here (logged) instead of Folio's 500 further out.

    Errors the outermost middleware answers before any route is chosen (a body declared larger than the limit, a
    NUL in the URL, a process at capacity), and routing's 405, keep Folio's envelope; OpenAI's clients read its
    `error.message` and raise by status all the same.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        reshaped = _Reshaped(send)
        try:
            await super().handle(scope, receive, reshaped)
        except HTTPException:
            raise  # routing's 405 for a method the path lacks, answered as before any route was chosen
        except Exception as exc:
            if reshaped.started:
                raise
            busy = busy_answer(exc)
            if busy is None:
                log.exception("unhandled_exception", path=scope["path"])
            await _send_error(busy or InternalError(), send)


class _Reshaped:
    """A `send` that holds back an error response in JSON and sends it in OpenAI's shape instead; any other response
    (a completion, a stream) passes through as it comes."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False
        self.held: Message | None = None
        self.body = bytearray()

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            headers = MutableHeaders(raw=list(message.get("headers", [])))
            if message["status"] >= 400 and headers.get("content-type", "").startswith("application/json"):
                self.held = message
                return
        elif message["type"] == "http.response.body" and self.held is not None:
            self.body.extend(message.get("body", b""))
            if not message.get("more_body", False):
                await self._send_reshaped(self.held)
            return
        await self.send(message)

    async def _send_reshaped(self, start: Message) -> None:
        status, content = start["status"], bytes(self.body)
        try:
            envelope = orjson.loads(content)
        except orjson.JSONDecodeError:
            envelope = None
        if isinstance(envelope, dict) and isinstance(envelope.get("error"), dict) and "code" in envelope["error"]:
            status, body = openai_error(status, envelope)
            content = orjson.dumps(body)
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        headers["content-length"] = str(len(content))
        await self.send({**start, "status": status, "headers": headers.raw})
        await self.send({"type": "http.response.body", "body": content})


async def _send_error(error: FolioError, send: Send) -> None:
    status, body = openai_error(error.status_code, error.envelope(request_id_var.get()))
    content = orjson.dumps(body)
    headers = MutableHeaders(headers=error.headers)
    headers["content-type"] = "application/json"
    headers["content-length"] = str(len(content))
    await send({"type": "http.response.start", "status": status, "headers": headers.raw})
    await send({"type": "http.response.body", "body": content})


def openai_responses(*errors: type[FolioError], refusals: Sequence[FolioError] = ()) -> dict[int | str, Any]:
    """OpenAPI `responses=` of an authenticated /v1 route: the authentication errors and `errors` in OpenAI's shape
    (validation errors under 400), one example per code, and `refusals` as examples of refused requests; and what
    the middleware refuses before routing (413, and 422 for a NUL in the URL) in Folio's envelope."""
    responses: dict[int | str, dict[str, Any]] = {}

    def add(error: FolioError, name: str, meaning: str) -> None:
        status, body = openai_error(error.status_code, error.envelope("7f3c9a1e0b5d4c2a"))
        entry = responses.setdefault(
            status,
            {"model": OpenAIErrorEnvelope, "description": "", "content": {"application/json": {"examples": {}}}},
        )
        examples = entry["content"]["application/json"]["examples"]
        if name not in examples:
            entry["description"] = " ".join(filter(None, [entry["description"], f"`{name}`: {meaning}"]))
            examples[name] = {"summary": name, "value": body}

    authentication: tuple[type[FolioError], ...] = (
        AuthRequired,
        AuthInvalid,
        AuthExpired,
        OrgAccessDenied,
        RateLimitExceeded,
        ValidationFailed,
    )
    for error_class in dict.fromkeys((*authentication, *errors)):
        add(error_class(), error_class.code, error_class.describe())
    for refusal in refusals:
        code = openai_error(refusal.status_code, refusal.envelope(None))[1]["error"]["code"]
        add(refusal, code, refusal.detail_message)
    # Answered by the outermost middleware before any route is chosen, so in Folio's envelope.
    before_routing = error_responses(PayloadTooLarge, NulCharacter)
    for entry in before_routing.values():
        entry["description"] = f"Refused before the route is chosen, in Folio's envelope: {entry['description']}"
    return {**responses, **before_routing}
