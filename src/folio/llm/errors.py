"""What a failing language model looks like to a client. Messages name the model, its host and at most the status it
answered: never the upstream's body (logged instead) and never the API key."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from folio.errors import FolioError

# When the upstream's 429 says nothing about when to come back.
DEFAULT_RETRY_AFTER_SECONDS = 10


class LLMTimeout(FolioError):
    """The language model did not answer within FOLIO_LLM__TIMEOUT_SECONDS (after the configured retries)."""

    status_code = 504
    code = "LLM_TIMEOUT"
    message = "The language model did not answer in time."


class LLMUnavailable(FolioError):
    """The language model could not be reached, failed, refused the request, or its circuit is open after failures."""

    status_code = 502
    code = "LLM_UNAVAILABLE"
    message = "The language model is unavailable."


class LLMRateLimited(FolioError):
    """The language model's provider is rate-limiting Folio; retry after the seconds in Retry-After."""

    status_code = 429
    code = "LLM_RATE_LIMITED"
    message = "The language model's provider is rate-limiting requests."

    def __init__(
        self,
        message: str | None = None,
        *,
        retry_after: float | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        seconds = DEFAULT_RETRY_AFTER_SECONDS if retry_after is None else max(1, math.ceil(retry_after))
        self.retry_after = seconds
        super().__init__(
            message,
            details={"retry_after_seconds": seconds, **(details or {})},
            headers={"Retry-After": str(seconds)},
        )


class LLMBusy(LLMRateLimited):
    """The organization already has FOLIO_LLM__ORG_CONCURRENCY model calls running; retry after Retry-After."""

    status_code = 429
    code = "LLM_BUSY"
    message = "Your organization has as many language-model calls running as it may; try again shortly."


class LLMInvalidResponse(LLMUnavailable):
    """The language model's endpoint answered with something that is not a chat completion (or too large a body)."""

    status_code = 502
    code = "LLM_INVALID_RESPONSE"
    message = "The language model's endpoint did not answer with a chat completion."


class LLMEndpointForbidden(FolioError):
    """The organization's model endpoint is, or resolves to, an internal address this server does not call."""

    status_code = 502
    code = "LLM_ENDPOINT_FORBIDDEN"
    message = "The organization's language-model endpoint resolves to an address this server does not call."


# Failures of the model's service that may pass: a job tries again later, with backoff (LLMBusy among them).
PASSING_ERRORS = (LLMTimeout, LLMUnavailable, LLMRateLimited)


class LLMCredentialsUnreadable(FolioError):
    """The organization's stored API key cannot be decrypted with FOLIO_ENCRYPTION_KEYS; an admin must set it again."""

    status_code = 503
    code = "LLM_CREDENTIALS_UNREADABLE"
    message = "The stored language-model API key cannot be decrypted; an admin must set it again."


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """The upstream's `retry-after-ms` or `retry-after` (seconds; HTTP dates are not worth parsing here)."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None
