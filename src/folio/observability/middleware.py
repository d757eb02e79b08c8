"""The outermost Folio middleware: request id, load shedding, body limit, NUL refusal, security headers, access
log, metrics and the last-resort 500; for WebSockets, the request id, the refusals of a handshake, one access-log
line when the connection ends and the connection metrics."""

from __future__ import annotations

import re
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from folio.db_retry import busy_answer
from folio.errors import FolioError, InternalError, NulCharacter, PayloadTooLarge, ServerBusy
from folio.observability import metrics
from folio.observability.access import STATE_PRINCIPAL, Outcome, record, route_template
from folio.observability.context import RequestClient, accept_request_id, request_client_var, request_id_var

log = structlog.get_logger("folio.access")

# Request state keys written by dependencies and read here once the response is known (and STATE_PRINCIPAL,
# by `folio.observability.access`).
STATE_RESPONSE_HEADERS = "response_headers"
# The body's byte limit. Every route gets the JSON limit whatever the content type; an upload endpoint lifts it
# (None: its multipart reader caps each part) only once the request is authenticated.
STATE_BODY_LIMIT = "body_limit"

# Probes answer even when the process sheds load: an orchestrator must see it alive, and readiness says it is full.
_NEVER_SHED = frozenset({"/health/live", "/health/ready", "/metrics"})
# A JSON `\u0000` escape: preceded by an even number of backslashes (an odd run escapes the backslash instead).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM_NUL = re.compile(rb"%00|\x00")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    # JSON and files are never rendered by a browser as a page: nothing may load, nothing may frame them.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}
_HSTS = "max-age=63072000; includeSubDomains"


@dataclass
class Load:
    """Requests in flight in this process: the middleware sheds above the limit, readiness reports it."""

    max_in_flight: int
    in_flight: int = 0

    @property
    def full(self) -> bool:
        return self.in_flight >= self.max_in_flight


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, load: Load) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.load = load

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        incoming = _RequestHeaders.of(scope)
        request_id = accept_request_id(incoming.request_id)
        token = request_id_var.set(request_id)
        client = scope.get("client")
        client_token = request_client_var.set(RequestClient(client[0] if client else None, incoming.user_agent))
        structlog.contextvars.bind_contextvars(request_id=request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        state[STATE_BODY_LIMIT] = self.max_body_bytes
        response = Outcome()
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.body":
                response.bytes += len(message.get("body", b""))
            elif kind == "http.response.start":
                response.started = True
                response.status = message["status"]
                headers = message["headers"] = list(message.get("headers", ()))
                event_stream = _add_headers(headers, request_id, state.get(STATE_RESPONSE_HEADERS), secure=secure)
                if response.counted and event_stream:
                    # A stream may stay open for hours: it is bounded by the live-stream limits, not as a
                    # request in flight, or a few hundred open streams would shed every other request.
                    response.counted = False
                    self.load.in_flight -= 1
                    metrics.IN_FLIGHT.dec()
            await send(message)

        started = time.perf_counter()
        metrics.IN_FLIGHT.inc()
        self.load.in_flight += 1
        try:
            error = self._refusal(scope, incoming.content_length, incoming.content_type)
            if error is not None:
                await _send_error(error, request_id, send_with_headers)
            else:
                await self.app(scope, self._checked(receive, state, incoming), send_with_headers)
        except Exception as exc:
            error = busy_answer(exc)
            if error is None:
                log.exception("unhandled_exception", path=scope["path"])
                error = InternalError()
            else:
                log.warning(f"database_{error.details['reason']}", path=scope["path"], error=str(exc.__cause__ or exc))
            if not response.started:
                await _send_error(error, request_id, send_with_headers)
        finally:
            if response.counted:
                self.load.in_flight -= 1
                metrics.IN_FLIGHT.dec()
            record(scope, state, response, incoming.user_agent, time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")
            request_client_var.reset(client_token)
            request_id_var.reset(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket is not a request in flight (it may stay open for hours); its handshake is refused like a
        request (503 when the process is full, 422 for a NUL in the URL)."""
        headers = Headers(scope=scope)
        request_id = accept_request_id(headers.get("x-request-id"))
        token = request_id_var.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        connection = _Connection()
        secure = scope.get("scheme") == "wss"

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                connection.received += 1
                metrics.WEBSOCKET_MESSAGES.labels("received").inc()
            elif message["type"] == "websocket.disconnect" and connection.outcome is None:
                connection.outcome = _client_close_label(message.get("code", 1005))
            return message

        async def send_with_headers(message: Message) -> None:
            kind = message["type"]
            if kind == "websocket.send":
                connection.sent += 1
                metrics.WEBSOCKET_MESSAGES.labels("sent").inc()
            elif kind == "websocket.accept":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            elif kind == "websocket.close" and connection.outcome is None:
                # Closed before the handshake completed, the server answers 403.
                connection.outcome = str(message.get("code", 1000)) if connection.accepted else "403"
            elif kind == "websocket.http.response.start":
                connection.outcome = str(message["status"])
                response_headers = MutableHeaders(scope=message)
                response_headers["X-Request-ID"] = request_id
                for name, value in SECURITY_HEADERS.items():
                    response_headers.setdefault(name, value)
                if secure:
                    response_headers.setdefault("Strict-Transport-Security", _HSTS)
            await send(message)
            if kind == "websocket.accept":
                connection.accepted = True
                metrics.WEBSOCKETS_OPEN.inc()

        started = time.perf_counter()
        try:
            error = self._refusal(scope, headers.get("content-length"), headers.get("content-type", ""))
            if error is not None:
                await receive()  # websocket.connect
                await _deny(error, request_id, scope, send_with_headers)
            else:
                await self.app(scope, counted_receive, send_with_headers)
        except Exception:
            log.exception("unhandled_exception", path=scope["path"])
            if connection.outcome is None:
                with suppress(OSError):  # the peer may be gone already
                    if connection.accepted:
                        await send_with_headers({"type": "websocket.close", "code": 1011})
                    else:
                        await _deny(InternalError(), request_id, scope, send_with_headers)
        finally:
            if connection.accepted:
                metrics.WEBSOCKETS_OPEN.dec()
            self._record_websocket(scope, state, connection, time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")
            request_id_var.reset(token)

    def _refusal(self, scope: Scope, length: str | None, content_type: str) -> FolioError | None:
        """What is refused before the application sees the request."""
        if self.load.in_flight > self.load.max_in_flight and scope["path"] not in _NEVER_SHED:
            metrics.SHED.inc()
            return ServerBusy(details={"reason": "requests"}, headers={"Retry-After": "1"})
        if "\x00" in scope["path"] or _FORM_NUL.search(scope.get("query_string", b"")):
            return NulCharacter(details={"in": "url"})
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            # Only an authenticated upload may send more; anything else is refused before its body is read.
            if not content_type.startswith("multipart/form-data"):
                return PayloadTooLarge(details=self._limit_details())
        return None

    def _limit_details(self) -> dict[str, int]:
        return {"max_bytes": self.max_body_bytes}

    def _checked(self, receive: Receive, state: dict[str, Any], incoming: _RequestHeaders) -> Receive:
        """The body within the limit in force when each part arrives; text bodies are searched for NULs."""
        received = 0
        declared = incoming.content_length
        declared_bytes = int(declared) if declared is not None and declared.isdigit() else 0
        content_type = incoming.content_type.split(";")[0].strip().lower()
        json_body = content_type.endswith(("/json", "+json"))
        text_body = json_body or content_type == "application/x-www-form-urlencoded"
        kept = bytearray()

        async def checked_receive() -> Message:
            nonlocal received
            limit: int | None = state.get(STATE_BODY_LIMIT)
            if limit is not None and declared_bytes > limit:
                raise PayloadTooLarge(details=self._limit_details())
            message = await receive()
            if message["type"] != "http.request":
                return message
            body: bytes = message.get("body", b"")
            received += len(body)
            if limit is not None and received > limit:
                raise PayloadTooLarge(details=self._limit_details())
            if text_body:
                # Bounded by the JSON limit: the whole body is searched once, so no escape is split between parts.
                kept.extend(body)
                if not message.get("more_body", False) and (_JSON_NUL if json_body else _FORM_NUL).search(kept):
                    raise NulCharacter(details={"in": "body"})
            return message

        return checked_receive

    @staticmethod
    def _record_websocket(scope: Scope, state: dict[str, Any], connection: _Connection, duration: float) -> None:
        template = route_template(scope)
        outcome = connection.outcome or "1006"
        metrics.WEBSOCKETS_CLOSED.labels(template, outcome).inc()
        principal = state.get(STATE_PRINCIPAL)
        log.info(
            "websocket",
            route=template,
            code=outcome,
            duration_ms=round(duration * 1000, 2),
            messages_received=connection.received,
            messages_sent=connection.sent,
            org_id=str(principal.org_id) if principal else None,
            principal=principal.kind if principal else None,
        )


@dataclass(slots=True)
class _RequestHeaders:
    """The few request headers the middleware reads, found in one pass (ASGI servers send names in lower case)."""

    request_id: str | None = None
    user_agent: str | None = None
    content_length: str | None = None
    content_type: str = ""

    @classmethod
    def of(cls, scope: Scope) -> _RequestHeaders:
        found = cls()
        for name, value in scope["headers"]:
            if name == b"x-request-id" and found.request_id is None:
                found.request_id = value.decode("latin-1")
            elif name == b"user-agent" and found.user_agent is None:
                found.user_agent = value.decode("latin-1")
            elif name == b"content-length" and found.content_length is None:
                found.content_length = value.decode("latin-1")
            elif name == b"content-type" and not found.content_type:
                found.content_type = value.decode("latin-1")
        return found


_SECURITY_PAIRS = [(name.lower().encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
_HSTS_PAIR = (b"strict-transport-security", _HSTS.encode())


def _add_headers(
    headers: list[tuple[bytes, bytes]], request_id: str, extra: dict[str, str] | None, *, secure: bool
) -> bool:
    """Set X-Request-ID and the request's own headers (the rate limit's), add the security headers the response
    lacks; in one pass over the response's headers. Returns whether the response is an event stream."""
    replaced = {b"x-request-id": request_id.encode()}
    if extra:
        replaced |= {name.lower().encode(): value.encode() for name, value in extra.items()}
    present: set[bytes] = set()
    event_stream = False
    for name, value in headers:
        present.add(name)
        if name == b"content-type":
            event_stream = value.startswith(b"text/event-stream")
    if not present.isdisjoint(replaced):
        headers[:] = [(name, value) for name, value in headers if name not in replaced]
    headers.extend(replaced.items())
    headers.extend(pair for pair in _SECURITY_PAIRS if pair[0] not in present)
    if secure and _HSTS_PAIR[0] not in present:
        headers.append(_HSTS_PAIR)
    return event_stream


@dataclass
class _Connection:
    """What the access log and the metrics say of a WebSocket once it ends."""

    accepted: bool = False
    # The close code (who closed first decides it), or the HTTP status of a refused handshake.
    outcome: str | None = None
    received: int = 0
    sent: int = 0


def _client_close_label(code: int) -> str:
    """A client may close with any code from 1000 to 4999: the label keeps the standard ones, so a client cannot
    make up label values."""
    return str(code) if 1000 <= code <= 1015 else "other"


def holds_nul(json_text: bytes) -> bool:
    """Whether JSON text holds a NUL character, raw or as a `\\u0000` escape."""
    return b"\x00" in json_text or _JSON_NUL.search(json_text) is not None


async def _deny(error: FolioError, request_id: str, scope: Scope, send: Send) -> None:
    """Refuse a WebSocket handshake with the error's status and envelope, where the server can answer one (the
    ASGI denial-response extension); otherwise with a plain 403."""
    if "websocket.http.response" in scope.get("extensions", {}):
        await _send_error(error, request_id, send, kind="websocket.http.response")
    else:
        await send({"type": "websocket.close", "code": 1008})


async def _send_error(error: FolioError, request_id: str, send: Send, *, kind: str = "http.response") -> None:
    body = orjson.dumps(error.envelope(request_id))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send({"type": f"{kind}.start", "status": error.status_code, "headers": headers})
    await send({"type": f"{kind}.body", "body": body})
