"""Importing a document from a URL: fetched over real HTTP from a local site, through the outbound guard (internal
addresses refused, redirects checked again), capped and typed as uploads are, with no database connection held
while the page is read."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from folio.documents import web
from folio.documents.router import URL_IMPORTS
from tests.apps import serve
from tests.attacks import report
from tests.connections import lent_to_requests
from tests.documents.test_router import wait_ready
from tests.factories import Account, error_of, register
from tests.live_server import serve_in_thread
from tests.llm.test_outbound_api import BAD_BASE_URLS

IMPORT = "/api/v1/documents/import-url"
PAGE = (
    b"<!doctype html><html><head><title>Leave</title></head>"
    b"<body><h1>Leave policy</h1><p>Parental leave is twenty weeks.</p></body></html>"
)
# The site's /stall answers once the test lets it.
STALLED, GO_ON = threading.Event(), threading.Event()
# The site's /held and /held-broken count each request in, then answer once the test lets them all go.
HELD, LET_GO = threading.Semaphore(0), threading.Event()


def site_routes() -> list[Route]:
    def page(body: bytes, media_type: str, **headers: str) -> Any:
        async def answer(request: Request) -> Response:
            return Response(body, media_type=media_type, headers=headers)

        return answer

    async def moved(request: Request) -> Response:
        return RedirectResponse("/handbook/leave.html", status_code=301)

    async def loop(request: Request) -> Response:
        return RedirectResponse("/loop", status_code=302)

    async def to_metadata(request: Request) -> Response:
        return RedirectResponse("http://169.254.169.254/latest/meta-data/", status_code=302)

    async def to_private(request: Request) -> Response:
        return RedirectResponse("http://10.0.0.7/admin", status_code=302)

    async def missing(request: Request) -> Response:
        return Response(b"gone", status_code=404)

    async def trickle(request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield b"slow "
                await asyncio.sleep(0.2)

        return StreamingResponse(body(), media_type="text/plain")

    def stall(request: Request) -> Response:  # run in a thread by Starlette: waiting blocks no loop
        STALLED.set()
        GO_ON.wait(30)
        return Response(b"Notes written while the test watched the pool.", media_type="text/plain")

    def held(status_code: int) -> Any:
        def answer(request: Request) -> Response:  # in a thread, as /stall
            HELD.release()
            LET_GO.wait(30)
            return Response(b"Notes the site held back.", status_code=status_code, media_type="text/plain")

        return answer

    return [
        Route("/handbook/leave.html", page(PAGE, "text/html", **{"Last-Modified": "Wed, 02 Dec 2026 10:00:00 GMT"})),
        Route("/old", moved),
        Route("/loop", loop),
        Route("/to-metadata", to_metadata),
        Route("/to-private", to_private),
        Route("/missing", missing),
        Route("/report.pdf", page(report(1, pages=2), "application/pdf")),
        Route("/notes", page(b"Plain notes about the rota.", "text/plain; charset=utf-8")),
        Route("/readme.md", page(b"# Readme\n\nSet up the rota.", "application/octet-stream")),
        Route("/logo", page(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")),
        Route("/fake.html", page(b"%PDF-1.7 not a page", "text/html")),
        Route("/empty", page(b"", "text/plain")),
        Route("/big", page(b"x" * (1024 * 1024 + 10), "text/plain")),
        Route("/stall", stall),
        Route("/held", held(200)),
        Route("/held-broken", held(503)),
        Route("/trickle", trickle),
    ]


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with serve_in_thread(Starlette(routes=site_routes()), lifespan="off") as url:
        yield url


@pytest.fixture(scope="module")
async def local(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A deployment whose operator lets URLs reach 127.0.0.1 (where the test site is), and only that internal host;
    uploads of 1 MiB at most."""
    outbound = {"allow_private": True, "allow_hosts": ["127.0.0.1"]}
    async with serve(database_url, outbound=outbound, max_upload_mb=1) as served:
        yield served


async def imported(client: httpx.AsyncClient, account: Account, url: str, **body: Any) -> httpx.Response:
    return await client.post(IMPORT, json={"url": url, **body}, headers=account.headers)


async def test_a_page_becomes_a_document_that_says_where_it_came_from(
    local: tuple[FastAPI, httpx.AsyncClient], site: str
) -> None:
    client = local[1]
    account = await register(client)
    response = await imported(client, account, f"{site}/old", tags=["hr"])
    assert response.status_code == 202, response.text
    [item] = response.json()["items"]
    document = item["document"]
    assert (document["kind"], document["filename"], document["tags"]) == ("html", "leave.html", ["hr"])
    assert document["source_type"] == "web"
    # The address after the redirect.
    assert document["source_url"] == f"{site}/handbook/leave.html"
    assert document["external_last_updated"] == "2026-12-02T10:00:00Z"
    ready = await wait_ready(client, account, document["id"])
    assert ready["status"] == "ready", ready
    content = await client.get(f"/api/v1/documents/{document['id']}/content", headers=account.headers)
    assert "Parental leave is twenty weeks." in content.json()["text"]
    again = await imported(client, account, f"{site}/handbook/leave.html")
    assert again.json()["items"][0]["deduplicated"] is True


@pytest.mark.parametrize(
    ("path", "kind", "filename"),
    [("/report.pdf", "pdf", "report.pdf"), ("/notes", "text", "notes.txt"), ("/readme.md", "markdown", "readme.md")],
)
async def test_the_kind_comes_from_the_content_type_else_the_extension(
    local: tuple[FastAPI, httpx.AsyncClient], site: str, path: str, kind: str, filename: str
) -> None:
    client = local[1]
    account = await register(client)
    response = await imported(client, account, f"{site}{path}")
    assert response.status_code == 202, response.text
    document = response.json()["items"][0]["document"]
    assert (document["kind"], document["filename"]) == (kind, filename)
    assert (await wait_ready(client, account, document["id"]))["status"] == "ready"


async def test_what_cannot_be_read_is_refused_with_its_reason(
    local: tuple[FastAPI, httpx.AsyncClient], site: str
) -> None:
    client = local[1]
    account = await register(client)
    error = error_of(await imported(client, account, f"{site}/missing"), 422, "URL_FETCH_FAILED")
    assert error["details"] == {"status": 404}
    error = error_of(await imported(client, account, f"{site}/loop"), 422, "URL_FETCH_FAILED")
    assert error["details"] == {"reason": "redirects"}
    error = error_of(await imported(client, account, f"{site}/empty"), 422, "URL_FETCH_FAILED")
    assert error["details"] == {"reason": "empty"}
    closed = site.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens
    error = error_of(await imported(client, account, f"{closed}/page.html"), 422, "URL_FETCH_FAILED")
    assert error["details"] == {"reason": "unreachable"}
    error_of(await imported(client, account, f"{site}/logo"), 415, "UNSUPPORTED_FILE_TYPE")
    error_of(await imported(client, account, f"{site}/fake.html"), 415, "UNSUPPORTED_FILE_TYPE")
    error = error_of(await imported(client, account, f"{site}/big"), 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"max_bytes": 1024 * 1024}
    listed = await client.get("/api/v1/documents", headers=account.headers)
    assert listed.json()["items"] == []


async def test_redirects_to_internal_addresses_are_refused(local: tuple[FastAPI, httpx.AsyncClient], site: str) -> None:
    client = local[1]
    account = await register(client)
    for path in ("/to-metadata", "/to-private"):
        error_of(await imported(client, account, f"{site}{path}"), 422, "OUTBOUND_URL_FORBIDDEN")


@pytest.mark.parametrize("url", BAD_BASE_URLS)
async def test_internal_addresses_are_refused_by_default(client: httpx.AsyncClient, url: str) -> None:
    account = await register(client)
    error_of(await imported(client, account, url), 422, "OUTBOUND_URL_FORBIDDEN")


async def test_malformed_urls_and_other_schemes_are_refused(client: httpx.AsyncClient) -> None:
    account = await register(client)
    for url in ("ftp://example.com/file.txt", "file:///etc/passwd", "https://", "http://[::1/", "http://a.com/\x00"):
        error_of(await imported(client, account, url), 422, "VALIDATION_ERROR")
    error_of(await imported(client, account, "https://user:secret@example.com/a"), 422, "OUTBOUND_URL_FORBIDDEN")
    error_of(await imported(client, account, "https://example.com/" + "a" * 2000), 422, "VALIDATION_ERROR")


async def test_no_database_connection_is_held_while_the_page_is_read(
    local: tuple[FastAPI, httpx.AsyncClient], site: str
) -> None:
    app, client = local
    account = await register(client)
    # The request's own id, so that the test counts what that request holds (the app's loops share the pool).
    request_id = uuid4().hex
    headers = {**account.headers, "X-Request-ID": request_id}
    STALLED.clear()
    GO_ON.clear()
    with lent_to_requests(app) as connections:
        request = asyncio.create_task(client.post(IMPORT, json={"url": f"{site}/stall"}, headers=headers))
        try:
            assert await asyncio.to_thread(STALLED.wait, 30)
            held = connections.to_request(request_id)
        finally:
            GO_ON.set()
            response = await request
    assert held == 0
    assert response.status_code == 202, response.text


async def test_an_organization_has_a_bounded_number_of_imports_running(database_url: str, site: str) -> None:
    """Slow servers hold an organization's slots, not another organization's; a fetch that fails gives its slot back
    as one that succeeds does."""
    outbound = {"allow_private": True, "allow_hosts": ["127.0.0.1"], "max_url_imports_per_org": 2}
    async with serve(database_url, outbound=outbound) as (_, client):
        account, stranger = await register(client), await register(client)
        LET_GO.clear()
        held = [asyncio.create_task(imported(client, account, f"{site}{path}")) for path in ("/held", "/held-broken")]
        try:
            for _ in held:
                assert await asyncio.to_thread(HELD.acquire, timeout=30)
            refused = await imported(client, account, f"{site}/notes")
            assert (await imported(client, stranger, f"{site}/notes")).status_code == 202
        finally:
            LET_GO.set()
            answers = await asyncio.gather(*held)
        assert error_of(refused, 429, "TOO_MANY_URL_IMPORTS")["details"] == {"limit": 2}
        assert refused.headers["retry-after"] == "5"
        assert answers[0].status_code == 202, answers[0].text
        assert error_of(answers[1], 422, "URL_FETCH_FAILED")["details"] == {"status": 503}
        assert URL_IMPORTS.running(account.org_id) == 0
        assert (await imported(client, account, f"{site}/notes")).status_code == 202


async def test_an_import_past_the_plan_is_refused_and_its_file_dropped(database_url: str, site: str) -> None:
    outbound = {"allow_private": True, "allow_hosts": ["127.0.0.1"]}
    plans = {"enforce": True, "default": "none", "limits": {"none": {"documents": 0}}}
    async with serve(database_url, outbound=outbound, plans=plans) as (app, client):
        account = await register(client)
        files = app.state.storage.root
        before = {path for path in files.rglob("*") if path.is_file()}
        error = error_of(await imported(client, account, f"{site}/notes"), 402, "PLAN_LIMIT_REACHED")
        assert (error["details"]["limit"], error["details"]["adding"]) == ("documents", 1)
        assert {path for path in files.rglob("*") if path.is_file()} == before


async def test_a_server_that_trickles_is_cut_off_at_the_fetch_deadline(
    local: tuple[FastAPI, httpx.AsyncClient], site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each read comes within the read timeout, but the whole fetch may not last longer than its deadline."""
    app, client = local
    monkeypatch.setattr(web, "FETCH_SECONDS", 1.0)
    account = await register(client)
    partial = app.state.storage.root / "tmp"
    before = set(partial.iterdir()) if partial.exists() else set()
    error = error_of(await imported(client, account, f"{site}/trickle"), 422, "URL_FETCH_FAILED")
    assert error["details"] == {"reason": "timeout"}
    assert (set(partial.iterdir()) if partial.exists() else set()) == before
