"""The error hierarchy and the envelope every error response uses.

Every error a client can see is a `FolioError` subclass with a stable `code`. Subclasses register themselves,
so `ERROR_CODES` is the one list of codes (rendered in OpenAPI and the README).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, JsonValue
from pydantic.config import JsonDict


def _code_enum(schema: JsonDict) -> None:
    # When the schema is made, not at import: by then every domain's errors module has registered its codes.
    schema["enum"] = list[JsonValue](folio_error_codes())


class ErrorBody(BaseModel):
    code: str = Field(
        description="Stable, machine-readable error code: `GET /api/v1/errors` lists them with their meaning.",
        examples=["NOT_FOUND"],
        json_schema_extra=_code_enum,
    )
    message: str = Field(description="Human-readable explanation.")
    details: dict[str, Any] = Field(default_factory=dict, description="Structured context, such as fields.")
    request_id: str | None = Field(None, description="The X-Request-ID of the request, for support.")


class ErrorEnvelope(BaseModel):
    error: ErrorBody


class StreamError(BaseModel):
    """The `data` of a stream's `error` event, or of the last event of a stream the server ends."""

    code: str = Field(description="Stable, machine-readable error code.", json_schema_extra=_code_enum)
    message: str = Field(description="Human-readable explanation.")


ERROR_CODES: dict[str, type[FolioError]] = {}


def folio_error_codes() -> list[str]:
    """Folio's codes, sorted (tests declare errors of their own)."""
    return sorted(code for code, error in ERROR_CODES.items() if error.__module__.startswith("folio."))


class FolioError(Exception):
    """Base of every client-visible error; the class docstring documents the code."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    message: ClassVar[str] = "An unexpected error occurred."
    # Errors that record something (a revoked session) commit the request's transaction before answering.
    keep_changes: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            existing = ERROR_CODES.get(cls.code)
            if existing is not None and existing.status_code != cls.status_code:
                raise TypeError(f"error code {cls.code} is declared with two statuses")
            ERROR_CODES.setdefault(cls.code, cls)

    def __init__(
        self,
        message: str | None = None,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail_message = message or self.message
        self.details = dict(details or {})
        self.headers = dict(headers or {})
        super().__init__(self.detail_message)

    def envelope(self, request_id: str | None) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.detail_message,
                "details": self.details,
                "request_id": request_id,
            }
        }

    @classmethod
    def describe(cls) -> str:
        """The docstring's first paragraph, on one line."""
        return " ".join((cls.__doc__ or cls.message).strip().split("\n\n")[0].split())


class InternalError(FolioError):
    """An unexpected server error; the request id identifies it in the logs."""

    code = "INTERNAL_ERROR"


class ValidationFailed(FolioError):
    """The request is malformed: invalid JSON, a missing field, a wrong type or an out-of-range value."""

    status_code = 422
    code = "VALIDATION_ERROR"
    message = "The request is invalid."


class NotFound(FolioError):
    """The route or resource does not exist, or belongs to another organization."""

    status_code = 404
    code = "NOT_FOUND"
    message = "Not found."


class MethodNotAllowed(FolioError):
    """The route exists but does not accept this HTTP method."""

    status_code = 405
    code = "METHOD_NOT_ALLOWED"
    message = "Method not allowed."


class Conflict(FolioError):
    """The request conflicts with the current state of a resource."""

    status_code = 409
    code = "CONFLICT"
    message = "The request conflicts with the current state."


class Forbidden(FolioError):
    """The principal is authenticated but lacks the role or scope for this action."""

    status_code = 403
    code = "FORBIDDEN"
    message = "You do not have permission to do this."


class PayloadTooLarge(FolioError):
    """The request body exceeds the configured size limit."""

    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "The request body is too large."


class RateLimitExceeded(FolioError):
    """Too many requests; retry after the number of seconds in Retry-After."""

    status_code = 429
    code = "RATE_LIMIT_EXCEEDED"
    message = "Too many requests."


class NulCharacter(ValidationFailed):
    """The URL, a form field or a JSON body holds a NUL character (`%00`, `\\u0000`), which no text can store."""

    message = "NUL characters are not allowed in requests."


class ServerBusy(FolioError):
    """The server is at capacity (requests in flight, database connections), or the database gave up the request's
    transaction for a concurrent one (a deadlock); retry after Retry-After seconds."""

    status_code = 503
    code = "SERVER_BUSY"
    message = "The server is busy; retry shortly."
