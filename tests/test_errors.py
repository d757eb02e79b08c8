"""Every error, wherever it comes from, answers with the Folio envelope and the request's id."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]
import httpx
import jwt
import pytest
from sqlalchemy import text

import folio.main  # noqa: F401  (imports every router, so every error class is registered)
from folio.deps import SessionDep
from folio.errors import ERROR_CODES, FolioError
from folio.main import create_app
from folio.observability.context import accept_request_id
from tests.conftest import TEST_JWT_SECRET, AppFactory
from tests.conftest import make_settings as make_settings
from tests.factories import Account, create_api_key, error_of, register

SECRET_INPUT = "Hunter2-do-not-echo-me-9f8e7d"


def error_locations(error: dict[str, Any]) -> list[list[str | int]]:
    return [entry["loc"] for entry in error["details"]["errors"]]


# Validation


async def test_malformed_json_body_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=b'{"email": "a@example.com", ', headers={"Content-Type": "application/json"}
    )
    error_of(response, 422, "VALIDATION_ERROR")


async def test_malformed_json_login_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    error_of(response, 422, "VALIDATION_ERROR")


async def test_wrong_types_name_the_field_and_never_echo_the_input(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "wrong-types@example.com", "password": [SECRET_INPUT], "name": "Ada"},
    )
    error = error_of(response, 422, "VALIDATION_ERROR")
    assert ["body", "password"] in error_locations(error)
    for entry in error["details"]["errors"]:
        assert set(entry) == {"loc", "message", "type"}
    assert SECRET_INPUT not in response.text


async def test_invalid_values_in_several_fields_are_all_reported_without_inputs(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": f"not-an-email-{SECRET_INPUT}", "password": SECRET_INPUT * 20, "name": ""},
    )
    error = error_of(response, 422, "VALIDATION_ERROR")
    locations = error_locations(error)
    assert ["body", "email"] in locations
    assert ["body", "password"] in locations
    assert ["body", "name"] in locations
    assert SECRET_INPUT not in response.text


async def test_missing_field_is_reported(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/register", json={"email": "missing@example.com"})
    error = error_of(response, 422, "VALIDATION_ERROR")
    assert ["body", "password"] in error_locations(error)
    assert ["body", "name"] in error_locations(error)


async def test_login_wrong_types_never_echo_the_password(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/login", json={"email": "someone@example.com", "password": {"value": SECRET_INPUT}}
    )
    error = error_of(response, 422, "VALIDATION_ERROR")
    assert ["password"] in error_locations(error) or ["body", "password"] in error_locations(error)
    assert SECRET_INPUT not in response.text


async def test_invalid_query_and_path_parameters_name_their_location(client: httpx.AsyncClient) -> None:
    account = await register(client)
    query = await client.get("/api/v1/orgs", params={"limit": "lots"}, headers=account.headers)
    assert ["query", "limit"] in error_locations(error_of(query, 422, "VALIDATION_ERROR"))

    path = await client.get(f"/api/v1/orgs/not-a-uuid-{SECRET_INPUT}", headers=account.headers)
    assert ["path", "org_id"] in error_locations(error_of(path, 422, "VALIDATION_ERROR"))
    assert SECRET_INPUT not in path.text


async def test_invalid_header_value_is_a_validation_error(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.get("/api/v1/auth/me", headers={**account.headers, "X-Org-Id": SECRET_INPUT})
    error = error_of(response, 422, "VALIDATION_ERROR")
    assert ["header", "x-org-id"] in error_locations(error)
    assert SECRET_INPUT not in response.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            "/api/v1/auth/register",
            {"email": "nul@example.com", "password": "a sturdy passphrase 42", "name": "a\x00b"},
        ),
        ("POST", "/api/v1/auth/login", {"email": "a\x00b@example.com", "password": "a sturdy passphrase 42"}),
        ("POST", "/api/v1/orgs", {"name": "a\x00b"}),
        ("PATCH", "/api/v1/orgs/{org_id}", {"name": "a\x00b"}),
        ("POST", "/api/v1/api-keys", {"name": "a\x00b", "scopes": ["search"]}),
    ],
    ids=["register-name", "login-email", "create-org", "rename-org", "create-api-key"],
)
async def test_nul_character_in_text_is_a_validation_error(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any]
) -> None:
    """PostgreSQL cannot store U+0000; the API must refuse it as invalid input, not fail with a 500."""
    account = await register(client)
    response = await client.request(method, path.format(org_id=account.org_id), json=body, headers=account.headers)
    error_of(response, 422, "VALIDATION_ERROR")


# Routing


async def test_unknown_route_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/no-such-thing/{uuid4()}")
    error_of(response, 404, "NOT_FOUND")


async def test_wrong_method_is_method_not_allowed(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/auth/me")
    error_of(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


# Authentication


async def test_missing_credentials_are_auth_required_with_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/auth/me")
    error_of(response, 401, "AUTH_REQUIRED")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_forged_token_is_auth_invalid_with_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not.a.token"})
    error_of(response, 401, "AUTH_INVALID")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


async def test_unknown_api_key_is_auth_invalid_with_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/auth/me", headers={"X-API-Key": "folio_" + "x" * 43})
    error_of(response, 401, "AUTH_INVALID")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_expired_token_is_auth_expired_with_challenge(client: httpx.AsyncClient) -> None:
    account = await register(client)
    claims = jwt.decode(
        account.access_token, TEST_JWT_SECRET, algorithms=["HS256"], audience="folio-api", issuer="folio"
    )
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = jwt.encode(
        {**claims, "iat": past, "exp": past + timedelta(minutes=15)}, TEST_JWT_SECRET, algorithm="HS256"
    )
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    error_of(response, 401, "AUTH_EXPIRED")
    assert "expired" in response.headers["WWW-Authenticate"]


async def test_wrong_password_is_invalid_credentials_with_challenge(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": "not the right passphrase"}
    )
    error_of(response, 401, "INVALID_CREDENTIALS")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "not the right passphrase" not in response.text


# Domain errors raised by services use the same envelope


async def test_domain_errors_use_the_envelope(client: httpx.AsyncClient) -> None:
    account = await register(client)
    taken = await client.post(
        "/api/v1/auth/register", json={"email": account.email, "password": account.password, "name": "Again"}
    )
    error_of(taken, 409, "EMAIL_TAKEN")

    missing_org = await client.get(f"/api/v1/orgs/{uuid4()}", headers=account.headers)
    error_of(missing_org, 404, "ORG_NOT_FOUND")

    key = await create_api_key(client, account)
    as_key = await client.post(
        "/api/v1/api-keys", json={"name": "nested", "scopes": ["search"]}, headers={"X-API-Key": key["secret"]}
    )
    error_of(as_key, 403, "FORBIDDEN")


# Unexpected exceptions


@pytest.fixture
async def exploding_client(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(make_settings(database_url))

    async def explode() -> None:
        raise RuntimeError("secret detail")

    async def lose_a_deadlock(session: SessionDep) -> None:
        await session.execute(text("DO $$ BEGIN RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01'; END $$"))

    async def lose_the_connection(session: SessionDep) -> None:
        # As an operator's pg_terminate_backend, a server restart or a failover does to a request's connection.
        await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    async def meet_a_starting_server(session: SessionDep) -> None:
        await session.execute(text("DO $$ BEGIN RAISE EXCEPTION 'starting up' USING ERRCODE = '57P03'; END $$"))

    async def divide_by_zero(session: SessionDep) -> None:
        await session.execute(text("SELECT 1 / 0"))

    async def find_no_server(root: Path) -> None:
        # A server that is down (or restarting) has no Unix socket to connect to.
        await asyncpg.connect(host=str(root / "no-server"), user="folio", timeout=5)

    async def find_no_file(root: Path) -> None:
        (root / "no-file").read_bytes()

    application.add_api_route("/explode", explode, methods=["GET"])
    application.add_api_route("/deadlock", lose_a_deadlock, methods=["GET"])
    application.add_api_route("/terminated", lose_the_connection, methods=["GET"])
    application.add_api_route("/starting", meet_a_starting_server, methods=["GET"])
    application.add_api_route("/divide", divide_by_zero, methods=["GET"])
    application.add_api_route("/no-server", partial(find_no_server, tmp_path), methods=["GET"])
    application.add_api_route("/no-file", partial(find_no_file, tmp_path), methods=["GET"])
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as http,
    ):
        yield http


async def test_unexpected_exception_is_internal_error_without_details(exploding_client: httpx.AsyncClient) -> None:
    response = await exploding_client.get("/explode", headers={"X-Request-ID": "boom-1"})
    error = error_of(response, 500, "INTERNAL_ERROR")
    assert error["request_id"] == "boom-1"
    assert "secret detail" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    # The app keeps serving after the failure.
    assert (await exploding_client.get("/health/live")).status_code == 200


async def test_a_transaction_lost_to_a_deadlock_is_server_busy_with_retry_after(
    exploding_client: httpx.AsyncClient,
) -> None:
    response = await exploding_client.get("/deadlock")
    error = error_of(response, 503, "SERVER_BUSY")
    assert error["details"] == {"reason": "conflict"}
    assert response.headers["Retry-After"] == "1"
    assert "deadlock" not in response.text


@pytest.mark.parametrize("path", ["/terminated", "/starting", "/no-server"])
async def test_a_database_that_is_away_for_now_is_server_busy_with_retry_after(
    exploding_client: httpx.AsyncClient, path: str
) -> None:
    response = await exploding_client.get(path)
    error = error_of(response, 503, "SERVER_BUSY")
    assert error["details"] == {"reason": "database"}
    assert response.headers["Retry-After"] == "2"
    # The pool replaced the broken connection: the next request is served.
    assert (await exploding_client.get("/health/ready")).status_code == 200


@pytest.mark.parametrize("path", ["/divide", "/no-file"])
async def test_a_database_error_that_would_happen_again_or_another_os_error_is_internal_error(
    exploding_client: httpx.AsyncClient, path: str
) -> None:
    response = await exploding_client.get(path)
    error_of(response, 500, "INTERNAL_ERROR")
    assert "division" not in response.text
    assert "no-file" not in response.text


# Body size limit


async def test_body_over_limit_with_content_length_is_payload_too_large(app_factory: AppFactory) -> None:
    async with app_factory(http={"max_body_kb": 1}) as small:
        body = b'{"email": "big@example.com", "password": "' + b"p" * 2000 + b'", "name": "Big"}'
        response = await small.post("/api/v1/auth/register", content=body, headers={"Content-Type": "application/json"})
        assert "content-length" in {name.lower() for name in response.request.headers}
        error = error_of(response, 413, "PAYLOAD_TOO_LARGE")
        assert error["details"]["max_bytes"] == 1024

        fits = await small.post("/api/v1/auth/register", json={"email": "small@example.com"})
        error_of(fits, 422, "VALIDATION_ERROR")


async def _chunks(total: int, size: int = 256) -> AsyncIterator[bytes]:
    yield b'{"email": "big@example.com", "name": "Big", "password": "'
    for _ in range(total // size):
        yield b"p" * size
    yield b'"}'


@pytest.mark.parametrize("path", ["/api/v1/auth/register", "/api/v1/auth/login"])
async def test_chunked_body_over_limit_is_payload_too_large(app_factory: AppFactory, path: str) -> None:
    async with app_factory(http={"max_body_kb": 1}) as small:
        response = await small.post(path, content=_chunks(4096), headers={"Content-Type": "application/json"})
        assert "content-length" not in {name.lower() for name in response.request.headers}
        assert response.request.headers["Transfer-Encoding"] == "chunked"
        error = error_of(response, 413, "PAYLOAD_TOO_LARGE")
        assert error["details"]["max_bytes"] == 1024


# Request ids


async def test_safe_incoming_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nowhere", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert error_of(response, 404, "NOT_FOUND")["request_id"] == "abc-123"


async def test_successful_responses_carry_a_request_id(client: httpx.AsyncClient) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live")
    assert first.headers["X-Request-ID"]
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]
    echoed = await client.get("/health/live", headers={"X-Request-ID": "trace:42.a_b"})
    assert echoed.headers["X-Request-ID"] == "trace:42.a_b"


def test_a_forked_worker_draws_other_request_ids_than_its_parent() -> None:
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover -- the child's exit status is checked below
        os.write(write_end, accept_request_id(None).encode())
        os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with os.fdopen(read_end, "rb") as reading:
        childs = reading.read().decode()
    assert re.fullmatch(r"[0-9a-f]{32}", childs)
    assert accept_request_id(None) != childs


@pytest.mark.parametrize(
    "incoming",
    ["abc 123", "abc\n123", "a" * 129, "x;rm -rf", "", "ünïcode"],
    ids=["space", "newline", "too-long", "semicolon", "empty", "non-ascii"],
)
async def test_unsafe_incoming_request_id_is_replaced(client: httpx.AsyncClient, incoming: str) -> None:
    raw_headers = [(b"x-request-id", incoming.encode())]
    response = await client.get("/api/v1/nowhere", headers=raw_headers)
    error = error_of(response, 404, "NOT_FOUND")
    generated = response.headers["X-Request-ID"]
    assert generated != incoming
    assert re.fullmatch(r"[A-Za-z0-9._:\-]{1,128}", generated)
    assert error["request_id"] == generated


# The catalogue of codes


def test_every_error_code_has_its_own_class_and_a_screaming_snake_name() -> None:
    assert len(ERROR_CODES) >= 10
    for code, error_class in ERROR_CODES.items():
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", code), code
        assert issubclass(error_class, FolioError)
        assert error_class.code == code
        assert 400 <= error_class.status_code <= 599
    classes = list(ERROR_CODES.values())
    assert len(set(classes)) == len(classes)


async def test_every_error_code_is_documented_in_openapi_and_listed(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    ours = {code: error for code, error in ERROR_CODES.items() if error.__module__.startswith("folio.")}
    assert set(spec["components"]["schemas"]["ErrorBody"]["properties"]["code"]["enum"]) >= set(ours)
    listed = (await client.get("/api/v1/errors")).json()
    assert {item["code"]: item["status"] for item in listed} == {
        code: error.status_code for code, error in ours.items()
    }


async def test_codes_seen_on_the_wire_are_registered(client: httpx.AsyncClient) -> None:
    account: Account = await register(client)
    responses = [
        await client.get("/api/v1/nowhere"),
        await client.delete("/api/v1/auth/me"),
        await client.get("/api/v1/auth/me"),
        await client.get(f"/api/v1/orgs/{uuid4()}", headers=account.headers),
        await client.get("/api/v1/orgs", params={"cursor": "!!!"}, headers=account.headers),
    ]
    for response in responses:
        assert response.json()["error"]["code"] in ERROR_CODES


async def test_a_body_nested_past_the_parsers_recursion_limit_is_a_validation_error(client: httpx.AsyncClient) -> None:
    account = await register(client)
    body = b'{"name": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = await client.post(
        "/api/v1/orgs", content=body, headers={**account.headers, "Content-Type": "application/json"}
    )
    error = error_of(response, 422, "VALIDATION_ERROR")
    assert error["details"]["errors"][0]["type"] == "json_too_deep"
