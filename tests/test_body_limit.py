"""Every route but the two uploads reads at most FOLIO_HTTP__MAX_BODY_KB of a body, whatever its content type says
and whoever sends it; the uploads read past it only once the request is authenticated."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from folio.main import create_app
from tests.conftest import AppFactory, make_settings
from tests.factories import Account, register

UPLOADS = {("POST", "/api/v1/documents"), ("POST", "/api/v1/cases/batches")}
LIMIT = 64 * 1024
PIECE = 16 * 1024
DECLARED = 300 * 1024 * 1024
BOUNDARY = "folioattack"


def operations(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for path, item in app.openapi()["paths"].items():
        for method in item:
            found.append((method.upper(), re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)))
    return found


class Sender:
    """An ASGI client that offers a multipart body of DECLARED bytes and counts what the app takes of it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def send(self, method: str, path: str, headers: dict[str, str], *, declare: bool) -> tuple[int, int]:
        taken = 0
        status = 0
        preamble = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="email"\r\n\r\n'.encode()

        async def receive() -> dict[str, Any]:
            nonlocal taken
            piece = preamble if taken == 0 else b"\0" * PIECE
            taken += len(piece)
            return {"type": "http.request", "body": piece, "more_body": taken < DECLARED}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        raw_headers = [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())]
        if declare:
            raw_headers.append((b"content-length", str(DECLARED).encode()))
        raw_headers += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": raw_headers,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        await self.app(scope, receive, send)
        return status, taken


@pytest.fixture(scope="module")
async def limited(database_url: str) -> AsyncIterator[tuple[FastAPI, Account]]:
    application = create_app(make_settings(database_url, http={"max_body_kb": LIMIT // 1024}))
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://testserver") as client,
    ):
        yield application, await register(client)


@pytest.mark.parametrize("declare", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "member"])
async def test_no_route_reads_a_multipart_body_past_the_limit(
    limited: tuple[FastAPI, Account], declare: bool, signed_in: bool
) -> None:
    app, account = limited
    sender = Sender(app)
    headers = account.headers if signed_in else {}
    outcomes = {}
    for method, path in operations(app):
        if (method, path) in UPLOADS:
            continue
        status, taken = await sender.send(method, path, headers, declare=declare)
        outcomes[f"{method} {path}"] = (status, taken)
    read_too_much = {operation: taken for operation, (_, taken) in outcomes.items() if taken > LIMIT + PIECE}
    failed = {operation: status for operation, (status, _) in outcomes.items() if status >= 500 or status == 0}
    assert read_too_much == {}
    assert failed == {}


@pytest.mark.parametrize("path", sorted(path for _, path in UPLOADS))
async def test_an_upload_reads_nothing_before_authentication(limited: tuple[FastAPI, Account], path: str) -> None:
    app, _ = limited
    status, taken = await Sender(app).send("POST", path, {}, declare=True)
    assert status == 401
    assert taken == 0


async def test_an_authenticated_upload_reads_past_the_json_limit(app_factory: AppFactory) -> None:
    async with app_factory(http={"max_body_kb": 1}) as client:
        account = await register(client)
        text = b"A paragraph about limits that is longer than one kibibyte. " * 100
        response = await client.post(
            "/api/v1/documents", files=[("files", ("long.txt", text, "text/plain"))], headers=account.headers
        )
        assert response.status_code == 202, response.text
        too_big = await client.post(
            "/api/v1/orgs", content=b'{"name": "' + b"x" * 2048 + b'"}', headers=account.headers
        )
        assert too_big.status_code == 413
