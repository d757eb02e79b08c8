"""Errors of the OpenAI-compatible routes in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`,
with 400 for a request that does not validate, so that OpenAI's clients raise their own exception classes
(`BadRequestError`, `AuthenticationError`, `NotFoundError`, `RateLimitError`…) with `param` and `code` filled in.

The rest of the API keeps Folio's envelope: `folio.answers.openai_route` translates the envelope that Folio's
handlers render, for the routes of the /v1 router only. Its `code` is Folio's stable code, or an OpenAI-style code
where the request named something OpenAI's API knows (`unknown_parameter`, `unsupported_parameter`, `unsupported_value`,
`missing_required_parameter`, and the bounds of `/v1/embeddings`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from folio.errors import FolioError, NotFound, ValidationFailed

# Validation error types that are OpenAI-style codes of their own; any other failed validation is VALIDATION_ERROR.
OPENAI_CODES = frozenset(
    {
        "unsupported_parameter",
        "unsupported_value",
        "too_many_inputs",
        "input_too_long",
        "context_length_exceeded",
        "request_too_large",
    }
)
# How pydantic names the branch of a union in an error's location (`str`, `list[ContentPart]`,
# `function-after[...]`): no field of OpenAI's requests is named so.
_UNION_TAG = re.compile(r"str|int|float|bool|none|.*[\[(\-,].*")
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_quota",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


class ModelNotFound(NotFound):
    """The model of an OpenAI-compatible request is not one this server has: `GET /v1/models` lists them
    (embeddings take the embedding model's id or one of its aliases)."""

    code = "MODEL_NOT_FOUND"
    message = "The model does not exist."

    def __init__(self, model: str | None = None, message: str | None = None) -> None:
        details = {"param": "model"} | ({"model": model} if model is not None else {})
        super().__init__(
            message or (f"The model `{model}` does not exist." if model is not None else None), details=details
        )


class OpenAIErrorBody(BaseModel):
    message: str = Field(description="Human-readable explanation.")
    type: str = Field(
        description="`invalid_request_error` (400), `authentication_error` (401), `insufficient_quota` (402), "
        "`permission_error` (403), `not_found_error` (404), `rate_limit_error` (429), `server_error` (5xx).",
        examples=["invalid_request_error"],
    )
    param: str | None = Field(description="The request field at fault, such as `temperature` or `input[3]`.")
    code: str | None = Field(
        description="Folio's stable error code (see the table at the top), or an OpenAI-style code for a refused "
        "parameter: `unknown_parameter`, `unsupported_parameter`, `unsupported_value`, `missing_required_parameter`, "
        "`too_many_inputs`, `input_too_long`, `context_length_exceeded`, `request_too_large`.",
        examples=["unsupported_parameter"],
    )


class OpenAIErrorEnvelope(BaseModel):
    error: OpenAIErrorBody


def error_object(error: FolioError) -> dict[str, Any]:
    """The `error` object of a Folio error in OpenAI's shape (also what a failing stream sends)."""
    body: dict[str, Any] = openai_error(error.status_code, error.envelope(None))[1]["error"]
    return body


def openai_error(status: int, envelope: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Folio's error envelope as OpenAI's: the status (400 for a validation error) and the body."""
    error = envelope["error"]
    details: dict[str, Any] = error.get("details") or {}
    code: str | None = error.get("code")
    message: str = error.get("message", "")
    param = details.get("param")
    status = 400 if status == 422 else status
    errors = [invalid for invalid in details.get("errors") or () if isinstance(invalid, dict)]
    if status == 400 and errors:
        # A refusal OpenAI's API has a code for says more than the other branches of a union that failed with it.
        coded = [invalid for invalid in errors if invalid.get("type") in {*OPENAI_CODES, "extra_forbidden"}]
        param, code, message = _first_invalid((coded or errors)[0], code, message)
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return status, {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _first_invalid(invalid: dict[str, Any], code: str | None, message: str) -> tuple[str | None, str | None, str]:
    """`param`, `code` and `message` of a request's first validation error, as OpenAI words them."""
    param = _param(invalid.get("loc") or [])
    reason = str(invalid.get("message") or message).removeprefix("Value error, ")
    kind = invalid.get("type")
    if kind == "extra_forbidden":
        return param, "unknown_parameter", f"Unrecognized request argument supplied: {param}"
    if kind == "missing":
        return param, "missing_required_parameter", f"Missing required parameter: '{param}'."
    if kind in OPENAI_CODES:
        code = kind
    named = param is None or f"'{param}'" in reason or reason.startswith(param)
    return param, code, reason if named else f"Invalid '{param}': {reason}"


def _param(loc: Sequence[Any]) -> str | None:
    """`("body", "messages", 0, "content")` as `messages[0].content` (the branches of unions left out); a header or
    query parameter by its name; None for the body as a whole (a JSON syntax error's location is a character
    offset)."""
    if len(loc) > 1 and loc[0] in ("query", "path", "header"):
        return str(loc[1])
    if not loc or loc[0] != "body":
        return None
    path = ""
    for part in loc[1:]:
        if isinstance(part, str) and _UNION_TAG.fullmatch(part):
            continue
        if isinstance(part, int):
            if not path:
                return None
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or None


def refused(kind: str, message: str, *loc: str | int) -> ValidationFailed:
    """A refusal of one request field (`loc`: its path in the body, `"input", 3`) found after the body validated, as
    a validation error of that field of type `kind` (one of OPENAI_CODES gives its code on /v1)."""
    return ValidationFailed(message, details={"errors": [{"loc": ["body", *loc], "message": message, "type": kind}]})
