"""Retries: what the server turns away for now (429, 503) is asked again after `Retry-After` (or a backoff), a
request that never left is sent again whatever its method, and one that may have reached the server only when
repeating it is safe. Against a scripted server, which can answer 503 once and then succeed."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from folio_client import (
    APIConnectionError,
    AsyncFolio,
    Folio,
    InternalServerError,
    RateLimitError,
    ServiceUnavailableError,
)

from tests.client.scripted import DROP, Answer, envelope, scripted

JOB_ID = "0197a3c2-5b1e-7cc4-9d2a-3f6e1b8a9c01"
JOB: dict[str, Any] = {
    "id": JOB_ID,
    "kind": "ingest_document",
    "subject_id": None,
    "status": "succeeded",
    "stage": "done",
    "progress": 100,
    "message": None,
    "attempts": 1,
    "max_attempts": 3,
    "error_code": None,
    "error_message": None,
    "cancel_requested": False,
    "payload": {},
    "created_at": "2026-05-04T09:12:03.114Z",
    "started_at": "2026-05-04T09:12:03.402Z",
    "finished_at": "2026-05-04T09:12:04.502Z",
    "run_after": "2026-05-04T09:12:03.114Z",
}
NO_HITS: dict[str, Any] = {"items": [], "next_cursor": None, "mode": "hybrid", "took_ms": 1.5}
BUSY = Answer(503, envelope("SERVER_BUSY"), {"Retry-After": "1"})


def test_a_503_is_asked_again_after_its_retry_after() -> None:
    with scripted(BUSY, Answer(200, JOB)) as (url, script), Folio(url, api_key="folio_k") as folio:
        job = folio.jobs.get(JOB_ID)

    assert job.status == "succeeded"
    assert [path for _, path, _ in script.seen] == [f"/api/v1/jobs/{JOB_ID}"] * 2
    assert script.gaps()[0] >= 1.0


async def test_the_async_client_waits_out_a_429_on_a_search() -> None:
    limited = Answer(429, envelope("RATE_LIMIT_EXCEEDED"), {"Retry-After": "1"})
    with scripted(limited, Answer(200, NO_HITS)) as (url, script):
        async with AsyncFolio(url, api_key="folio_k") as folio:
            results = await folio.search("anything")

    assert results.items == []
    assert results.took_ms == 1.5
    assert [method for method, _, _ in script.seen] == ["POST", "POST"]
    assert script.gaps()[0] >= 1.0


def test_a_wait_longer_than_allowed_is_raised_at_once_with_its_code() -> None:
    limited = Answer(429, envelope("RATE_LIMIT_EXCEEDED", "Too many requests."), {"Retry-After": "3600"})
    with scripted(limited) as (url, script), Folio(url, api_key="folio_k") as folio:
        with pytest.raises(RateLimitError) as refused:
            folio.jobs.get(JOB_ID)

    error = refused.value
    assert (error.status, error.code, error.retry_after, error.request_id) == (
        429,
        "RATE_LIMIT_EXCEEDED",
        3600.0,
        "scripted-1",
    )
    assert str(error) == "RATE_LIMIT_EXCEEDED: Too many requests. (request scripted-1)"
    assert len(script.seen) == 1


def test_without_retry_after_the_retries_back_off_and_end() -> None:
    busy = Answer(503, envelope("SERVER_BUSY"))
    with scripted(busy, busy, busy) as (url, script), Folio(url, api_key="folio_k", max_retries=2) as folio:
        with pytest.raises(ServiceUnavailableError) as unavailable:
            folio.jobs.get(JOB_ID)

    assert unavailable.value.code == "SERVER_BUSY"
    assert len(script.seen) == 3


def test_a_dropped_connection_repeats_a_read_but_not_a_cancel() -> None:
    with scripted(DROP, Answer(200, JOB), DROP) as (url, script), Folio(url, api_key="folio_k") as folio:
        job = folio.jobs.get(JOB_ID)
        with pytest.raises(APIConnectionError) as broken:
            folio.jobs.cancel(JOB_ID)

    assert job.id.hex == JOB_ID.replace("-", "")
    assert broken.value.code == "CONNECTION_ERROR"
    assert broken.value.status is None
    assert [method for method, _, _ in script.seen] == ["GET", "GET", "POST"]


def test_a_server_that_is_not_there_is_tried_again_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with Folio(f"http://127.0.0.1:{port}", api_key="folio_k", max_retries=1) as folio:
        with pytest.raises(APIConnectionError) as unreachable:
            folio.jobs.cancel(JOB_ID)

    assert unreachable.value.code == "CONNECTION_ERROR"


def test_an_error_page_without_an_envelope_still_raises_by_status() -> None:
    page = Answer(502, b"<html><body>Bad gateway</body></html>")
    with scripted(page) as (url, _), Folio(url, api_key="folio_k") as folio:
        with pytest.raises(InternalServerError) as failed:
            folio.jobs.get(JOB_ID)

    assert (failed.value.status, failed.value.code) == (502, "HTTP_502")
