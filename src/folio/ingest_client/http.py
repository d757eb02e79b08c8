"""What `folio ingest` shares about talking to the server: outcomes per file, error bodies, retries."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

DOCUMENTS = "/api/v1/documents"
JOBS = "/api/v1/jobs"
EVENTS = "/api/v1/events"
POLL_INTERVAL = 0.5
RATE_LIMIT_RETRIES = 5
REQUEST_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class Status(StrEnum):
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"
    DUPLICATE = "duplicate"


@dataclass
class Outcome:
    path: Path
    status: Status = Status.PROCESSING
    job_id: str | None = None
    pages: int | None = None
    chunks: int | None = None
    error_code: str | None = None
    error_message: str | None = None

    def fail(self, code: str | None, message: str | None) -> None:
        self.status, self.error_code, self.error_message = Status.FAILED, code, message

    def take_counts(self, document: dict[str, Any]) -> None:
        self.pages, self.chunks = document.get("page_count"), document.get("chunk_count")


class Abort(Exception):
    """The run cannot go on: the server is unreachable or refuses the API key (exit 2)."""


class Transient(Exception):
    """The server did not answer, or answered 5xx: worth asking again for a while."""


def error_of(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        return error["code"], str(error.get("message") or "")
    return f"HTTP_{response.status_code}", response.reason_phrase


def retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), POLL_INTERVAL), 60.0)
    except ValueError:
        return 1.0


def check_credentials(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        code, message = error_of(response)
        raise Abort(f"The server refused the API key ({code}: {message}).")


def get(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> httpx.Response:
    """GET `url`, waiting out rate limits (a few times); raises Transient when the server is not answering."""
    retries = 0
    while True:
        try:
            response = client.get(url, params=params)
        except httpx.TransportError as exc:
            raise Transient(str(exc) or type(exc).__name__) from exc
        if response.status_code >= 500:
            raise Transient(f"it answers {response.status_code}")
        check_credentials(response)
        if response.status_code != 429 or retries == RATE_LIMIT_RETRIES:
            return response
        retries += 1
        time.sleep(retry_after(response))
