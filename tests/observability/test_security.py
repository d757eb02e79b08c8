"""Security headers on every response, a CSP on /docs that allows exactly its own scripts, /metrics behind a token,
load shedding when the process is full, and NULs refused at the boundary."""

from __future__ import annotations

import base64
import hashlib
import re

import httpx
import pytest
from fastapi import FastAPI

from folio.api_docs import page_policy
from tests.conftest import AppFactory
from tests.factories import error_of, register

STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    account = await register(client)
    for response in (
        await client.get("/api/v1/auth/me", headers=account.headers),
        await client.get("/api/v1/auth/me"),
        await client.get("/no/such/route"),
        await client.get("/openapi.json"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Content-Security-Policy"] == STRICT_CSP
        assert "Strict-Transport-Security" not in response.headers


async def test_hsts_only_behind_tls(app: FastAPI) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as secure:
        response = await secure.get("/health/live")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


async def test_the_docs_page_allows_its_own_inline_scripts_by_hash_and_nothing_inline_else(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    assert scripts
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert "frame-ancestors 'none'" in policy
    # Swagger's bundle is Folio's own copy: scripts come from this origin, and no other host is named.
    assert script_src.split()[:2] == ["script-src", "'self'"]
    assert "http" not in policy
    for source in re.findall(r'<script src="([^"]+)"', response.text):
        assert source.startswith("/docs/assets/swagger-ui-bundle.")
    redirect = await client.get("/docs/oauth2-redirect")
    assert redirect.headers["Content-Security-Policy"] == page_policy(redirect.text)


async def test_metrics_are_open_in_development(client: httpx.AsyncClient) -> None:
    assert (await client.get("/metrics")).status_code == 200


async def test_metrics_are_off_in_production_without_a_token(app_factory: AppFactory) -> None:
    async with app_factory(env="production") as client:
        error_of(await client.get("/metrics"), 404, "NOT_FOUND")


async def test_metrics_need_the_token_when_one_is_set(app_factory: AppFactory) -> None:
    token = "metrics-" + "9f3c" * 8
    async with app_factory(env="production", http={"metrics_token": token}) as client:
        error_of(await client.get("/metrics"), 401, "AUTH_INVALID")
        error_of(await client.get("/metrics", headers={"Authorization": f"Bearer {token}x"}), 401, "AUTH_INVALID")
        assert (await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})).status_code == 200


async def test_a_full_process_sheds_requests_with_503_and_retry_after_but_answers_probes(
    app_factory: AppFactory,
) -> None:
    async with app_factory(http={"max_in_flight": 1}) as client:
        account = await register(client)
        app = client._transport.app  # type: ignore[attr-defined]
        load = app.state.load
        load.in_flight += 1  # one request already in flight
        try:
            response = await client.get("/api/v1/auth/me", headers=account.headers)
            error = error_of(response, 503, "SERVER_BUSY")
            assert error["details"] == {"reason": "requests"}
            assert response.headers["Retry-After"] == "1"
            assert (await client.get("/health/live")).status_code == 200
            ready = await client.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["capacity"]["status"] == "failing"
        finally:
            load.in_flight -= 1
        assert (await client.get("/api/v1/auth/me", headers=account.headers)).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/documents?q=%00",
        "/api/v1/documents?tag=%00",
        "/api/v1/jobs?kind=%00",
        "/api/v1/documents?q=a%00b",
        "/api/v1/cases?channel=%00",
    ],
)
async def test_nul_in_a_query_is_refused(client: httpx.AsyncClient, path: str) -> None:
    account = await register(client)
    error = error_of(await client.get(path, headers=account.headers), 422, "VALIDATION_ERROR")
    assert error["details"] == {"in": "url"}


async def test_nul_in_a_json_body_is_refused_but_an_escaped_backslash_is_text(client: httpx.AsyncClient) -> None:
    account = await register(client)
    headers = {**account.headers, "Content-Type": "application/json"}
    refused = await client.post("/api/v1/search", content=rb'{"query": "a\u0000b"}', headers=headers)
    assert error_of(refused, 422, "VALIDATION_ERROR")["details"] == {"in": "body"}
    odd = await client.post("/api/v1/search", content=rb'{"query": "a\\\u0000b"}', headers=headers)
    error_of(odd, 422, "VALIDATION_ERROR")
    # `\\u0000` is a backslash followed by the text "u0000": no NUL.
    text = await client.post("/api/v1/search", content=rb'{"query": "a\\u0000b"}', headers=headers)
    assert text.status_code == 200, text.text


async def test_nul_in_a_form_field_of_an_upload_is_refused(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.post(
        "/api/v1/documents",
        files=[("files", ("a.txt", b"some text", "text/plain"))],
        data={"title": "a\x00b"},
        headers=account.headers,
    )
    error_of(response, 422, "VALIDATION_ERROR")


async def test_nul_written_as_a_json_escape_inside_a_query_value_is_refused(client: httpx.AsyncClient) -> None:
    account = await register(client)
    response = await client.get("/api/v1/cases", params={"field": 'k:"a\\u0000b"'}, headers=account.headers)
    error_of(response, 422, "VALIDATION_ERROR")
