"""What the client raises: `FolioError`, carrying the server's stable error code, and a subclass per HTTP status."""

from __future__ import annotations

import email.utils
import math
import time
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from folio_client.models import Job


class FolioError(Exception):
    """Base of every error the client raises.

    `code` is the server's stable code (`DOCUMENT_NOT_FOUND`, `RATE_LIMIT_EXCEEDED`…) or one of the client's own
    (`CONNECTION_ERROR`, `TIMEOUT`, `WAIT_TIMEOUT`, `INVALID_RESPONSE`); `status` is the HTTP status, None when no
    answer came; `details` the envelope's structured context; `request_id` the server's id of the request, for
    support.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.details: dict[str, Any] = details or {}
        self.request_id = request_id

    def __str__(self) -> str:
        where = f" (request {self.request_id})" if self.request_id else ""
        return f"{self.code}: {self.message}{where}"


class APIConnectionError(FolioError):
    """The server could not be reached, or the connection broke before it answered."""

    def __init__(self, message: str, *, code: str = "CONNECTION_ERROR") -> None:
        super().__init__(message, code=code)


class APITimeoutError(APIConnectionError):
    """The server did not answer within the client's timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="TIMEOUT")


class InvalidResponseError(FolioError):
    """The server answered 2xx with a body this client cannot read (not the API it expects)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message, code="INVALID_RESPONSE", status=status)


class APIStatusError(FolioError):
    """The server answered with an error status; `code`, `message`, `details` and `request_id` come from its error
    envelope. `retry_after` is its `Retry-After` in seconds, when it sent one."""

    status: int

    def __init__(
        self,
        response: httpx.Response,
        *,
        code: str,
        message: str,
        details: dict[str, Any],
        request_id: str | None = None,
    ) -> None:
        request_id = request_id or response.headers.get("X-Request-ID")
        super().__init__(message, code=code, status=response.status_code, details=details, request_id=request_id)
        self.response = response
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))


class BadRequestError(APIStatusError):
    """400."""


class AuthenticationError(APIStatusError):
    """401: no credentials, or credentials the server refuses (`AUTH_REQUIRED`, `AUTH_INVALID`, `AUTH_EXPIRED`,
    `INVALID_CREDENTIALS`)."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed (`FORBIDDEN`, `ORG_ACCESS_DENIED`, a missing scope…)."""


class NotFoundError(APIStatusError):
    """404: no such resource in the organization (another organization's ids answer the same)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state."""


class PayloadTooLargeError(APIStatusError):
    """413: a file or body over the server's limit."""


class UnsupportedMediaTypeError(APIStatusError):
    """415: a file type the server does not take, or content that disagrees with its extension."""


class InvalidRequestError(APIStatusError):
    """422: the request is malformed (`VALIDATION_ERROR` with field paths in `details`, `INVALID_CURSOR`…)."""


class RateLimitError(APIStatusError):
    """429: too many requests; the client already waited and retried as far as its settings allow."""


class InternalServerError(APIStatusError):
    """5xx."""


class ServiceUnavailableError(InternalServerError):
    """503: the server is busy (`SERVER_BUSY`) or a part of it is unavailable for now."""


class StreamError(FolioError):
    """A stream ended with an `error` event (the language model failed midway through an answer)."""


class WaitTimeout(FolioError, TimeoutError):
    """Jobs did not finish within the wait's timeout; `jobs` holds the last state read of those still running."""

    def __init__(self, message: str, *, jobs: list[Job]) -> None:
        super().__init__(message, code="WAIT_TIMEOUT")
        self.jobs = jobs


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: InvalidRequestError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def status_error(response: httpx.Response) -> APIStatusError:
    """The error of a response with an error status (its body read), from the envelope
    `{"error": {"code", "message", "details", "request_id"}}`; `HTTP_<status>` when the body is not one (a proxy's
    page)."""
    status = response.status_code
    kind = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else APIStatusError)
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        details = error.get("details")
        return kind(
            response,
            code=error["code"],
            message=str(error.get("message") or response.reason_phrase),
            details=details if isinstance(details, dict) else {},
            request_id=error["request_id"] if isinstance(error.get("request_id"), str) else None,
        )
    return kind(response, code=f"HTTP_{status}", message=response.reason_phrase or f"HTTP {status}", details={})


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds from now: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = moment.timestamp() - time.time()
    return max(seconds, 0.0) if math.isfinite(seconds) else None
