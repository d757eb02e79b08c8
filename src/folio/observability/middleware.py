"""The outermost Folio middleware: request id, body limit, access log, metrics and the last-resort 500."""

from __future__ import annotations

import time
from typing import Any

import orjson
import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from folio.errors import FolioError, InternalError, PayloadTooLarge
from folio.observability import metrics
from folio.observability.context import accept_request_id, request_id_var

log = structlog.get_logger("folio.access")

# Request state keys written by dependencies and read here once the response is known.
STATE_PRINCIPAL = "principal"
STATE_RESPONSE_HEADERS = "response_headers"


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        headers = Headers(scope=scope)
        request_id = accept_request_id(headers.get("x-request-id"))
        token = request_id_var.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500
        response_started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                response_headers = MutableHeaders(scope=message)
                response_headers["X-Request-ID"] = request_id
                for name, value in state.get(STATE_RESPONSE_HEADERS, {}).items():
                    response_headers[name] = value
            await send(message)

        started = time.perf_counter()
        metrics.IN_FLIGHT.inc()
        try:
            if _is_upload(headers):
                # Uploads are capped per file, while they stream, by the upload endpoint (FOLIO_MAX_UPLOAD_MB).
                await self.app(scope, receive, send_with_headers)
            elif self._declared_body_too_large(headers):
                await _send_error(PayloadTooLarge(details=self._limit_details()), request_id, send_with_headers)
            else:
                await self.app(scope, self._limited(receive), send_with_headers)
        except Exception:
            log.exception("unhandled_exception", path=scope["path"])
            if not response_started:
                await _send_error(InternalError(), request_id, send_with_headers)
        finally:
            metrics.IN_FLIGHT.dec()
            self._record(scope, state, status, time.perf_counter() - started)
            structlog.contextvars.unbind_contextvars("request_id")
            request_id_var.reset(token)

    def _limit_details(self) -> dict[str, int]:
        return {"max_bytes": self.max_body_bytes}

    def _declared_body_too_large(self, headers: Headers) -> bool:
        length = headers.get("content-length")
        return length is not None and length.isdigit() and int(length) > self.max_body_bytes

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise PayloadTooLarge(details=self._limit_details())
            return message

        return limited_receive

    @staticmethod
    def _record(scope: Scope, state: dict[str, Any], status: int, duration: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path", None) or "<unmatched>"
        method = scope["method"]
        metrics.REQUESTS.labels(method, template, str(status)).inc()
        metrics.LATENCY.labels(method, template).observe(duration)
        principal = state.get(STATE_PRINCIPAL)
        log.info(
            "request",
            method=method,
            route=template,
            status=status,
            duration_ms=round(duration * 1000, 2),
            org_id=str(principal.org_id) if principal else None,
            principal=principal.kind if principal else None,
        )


def _is_upload(headers: Headers) -> bool:
    return headers.get("content-type", "").startswith("multipart/form-data")


async def _send_error(error: FolioError, request_id: str, send: Send) -> None:
    body = orjson.dumps(error.envelope(request_id))
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
