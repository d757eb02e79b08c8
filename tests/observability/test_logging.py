"""One structured access log line per request, with route template, status, timing, request id and principal."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI

from tests.factories import create_api_key, register

ORG_ROUTE = "/api/v1/orgs/{org_id}"


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="folio.access")
    return caplog


def request_events(caplog: pytest.LogCaptureFixture, request_id: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "folio.access"
        and isinstance(record.msg, dict)
        and record.msg.get("event") == "request"
        and record.msg.get("request_id") == request_id
    ]


def the_access_record(caplog: pytest.LogCaptureFixture, response: httpx.Response) -> logging.LogRecord:
    records = request_events(caplog, response.headers["X-Request-ID"])
    assert len(records) == 1, [record.msg for record in records]
    return records[0]


def event(record: logging.LogRecord) -> dict[str, Any]:
    assert isinstance(record.msg, dict)
    return record.msg


def rendered(record: logging.LogRecord) -> dict[str, Any]:
    """The record as the app's own handler writes it: one line of JSON."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, structlog.stdlib.ProcessorFormatter)
    ]
    assert len(handlers) == 1
    line = handlers[0].format(record)
    assert "\n" not in line
    parsed: dict[str, Any] = json.loads(line)
    return parsed


async def test_access_line_for_a_user(client: httpx.AsyncClient, access_log: pytest.LogCaptureFixture) -> None:
    account = await register(client)
    response = await client.get(f"/api/v1/orgs/{account.org_id}", headers=account.headers)
    assert response.status_code == 200
    record = the_access_record(access_log, response)
    assert record.levelno == logging.INFO
    line = rendered(record)
    assert line["event"] == "request"
    assert line["method"] == "GET"
    assert line["route"] == ORG_ROUTE
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], int | float)
    assert line["duration_ms"] >= 0
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["org_id"] == str(account.org_id)
    assert line["principal"] == "user"
    assert line["principal_id"] == str(account.user_id)
    assert line["client"] == "127.0.0.1"
    assert line["user_agent"] == response.request.headers["user-agent"]
    assert line["bytes"] == len(response.content)
    assert line["level"] == "info"
    assert line["logger"] == "folio.access"
    assert "timestamp" in line


async def test_access_line_for_an_api_key(client: httpx.AsyncClient, access_log: pytest.LogCaptureFixture) -> None:
    account = await register(client)
    key = await create_api_key(client, account)
    response = await client.get("/api/v1/auth/me", headers={"X-API-Key": key["secret"], "X-Request-ID": "key-req-1"})
    assert response.status_code == 200
    fields = event(the_access_record(access_log, response))
    assert fields["request_id"] == "key-req-1"
    assert fields["route"] == "/api/v1/auth/me"
    assert fields["status"] == 200
    assert fields["principal"] == "api_key"
    assert fields["principal_id"] == key["id"]
    assert fields["org_id"] == str(account.org_id)


async def test_access_line_without_a_principal(client: httpx.AsyncClient, access_log: pytest.LogCaptureFixture) -> None:
    wrong_method = await client.post("/api/v1/auth/me")
    assert wrong_method.status_code == 405
    assert event(the_access_record(access_log, wrong_method))["status"] == 405
    missing = await client.get("/api/v1/auth/me")
    assert missing.status_code == 401
    fields = event(the_access_record(access_log, missing))
    assert fields["method"] == "GET"
    assert fields["route"] == "/api/v1/auth/me"
    assert fields["status"] == 401
    assert fields["principal"] is None
    assert fields["principal_id"] is None
    assert fields["org_id"] is None
    unmatched = await client.get("/no/such/page")
    assert event(the_access_record(access_log, unmatched))["route"] == "<unmatched>"


async def test_each_request_logs_exactly_once(client: httpx.AsyncClient, access_log: pytest.LogCaptureFixture) -> None:
    account = await register(client)
    responses = [
        await client.get("/api/v1/orgs", headers={**account.headers, "X-Request-ID": f"once-{n}"}) for n in range(3)
    ]
    for response in responses:
        fields = event(the_access_record(access_log, response))
        assert fields["route"] == "/api/v1/orgs"
        assert fields["principal"] == "user"


async def test_the_client_is_the_one_that_connected(app: FastAPI, access_log: pytest.LogCaptureFixture) -> None:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as elsewhere:
        response = await elsewhere.get("/api/v1/auth/me", headers={"User-Agent": "folio-cli/1.0"})

    fields = event(the_access_record(access_log, response))
    assert fields["client"] == "203.0.113.9"
    assert fields["user_agent"] == "folio-cli/1.0"
    assert fields["bytes"] == len(response.content) > 0


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/metrics"])
async def test_probes_and_scrapes_log_at_debug(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    caplog.set_level(logging.INFO, logger="folio.access")
    quiet = await client.get(path)
    assert quiet.status_code == 200
    assert request_events(caplog, quiet.headers["X-Request-ID"]) == []

    caplog.set_level(logging.DEBUG, logger="folio.access")
    response = await client.get(path)

    record = the_access_record(caplog, response)
    assert record.levelno == logging.DEBUG
    assert event(record)["route"] == path
