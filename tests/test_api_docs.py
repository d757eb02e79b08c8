"""/docs and /redoc name their scripts, stylesheet and icon on Folio itself, by content hash, and Folio serves exactly
those files with their types and a year of caching; `GET /api/v1/errors` lists the stable error codes."""

from __future__ import annotations

import re
from pathlib import Path

import fastapi_offline
import httpx
import pytest
from fastapi import FastAPI

from folio.errors import ERROR_CODES
from tests.factories import error_of

STATIC = Path(fastapi_offline.__file__).parent / "static"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
ASSET = re.compile(r'(?:src|href)="(/docs/assets/[^"]+)"')
IMMUTABLE = "public, max-age=31536000, immutable"


async def asset_urls(client: httpx.AsyncClient) -> list[str]:
    urls: list[str] = []
    for page in ("/docs", "/redoc"):
        urls += ASSET.findall((await client.get(page)).text)
    return sorted(set(urls))


def original(url: str) -> bytes:
    """The fastapi-offline file behind a hashed name: `swagger-ui.<hash>.css` is `swagger-ui.css`."""
    stem, _digest, suffix = url.rsplit("/", 1)[1].rsplit(".", 2)
    return (STATIC / f"{stem}.{suffix}").read_bytes()


async def test_the_pages_name_our_own_copies_of_their_files_and_no_other_host(client: httpx.AsyncClient) -> None:
    for page in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        response = await client.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert response.headers["Cache-Control"] == "no-cache"
        assert "http://" not in response.headers["Content-Security-Policy"]
        assert "https://" not in response.headers["Content-Security-Policy"]
        assert not re.search(r'(?:src|href)="(?!/)', response.text), page
    urls = await asset_urls(client)
    assert [re.sub(r"\.[0-9a-f]{20}\.", ".", url) for url in urls] == [
        "/docs/assets/favicon.png",
        "/docs/assets/redoc.standalone.js",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
    ]
    redoc = await client.get("/redoc")
    assert redoc.headers["Content-Security-Policy"].endswith("; worker-src blob:")
    assert "worker-src" not in (await client.get("/docs")).headers["Content-Security-Policy"]


async def test_each_file_is_served_whole_with_its_type_and_a_year_of_caching(client: httpx.AsyncClient) -> None:
    for url in await asset_urls(client):
        response = await client.get(url, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, url
        assert response.content == original(url)
        assert response.headers["content-type"] == MEDIA_TYPES[Path(url).suffix]
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "content-encoding" not in response.headers
        etag = response.headers["ETag"]
        assert etag.strip('"') in url
        again = await client.get(url, headers={"Accept-Encoding": "identity", "If-None-Match": f"W/{etag}"})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == IMMUTABLE
        head = await client.head(url, headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200
        assert int(head.headers["content-length"]) == len(original(url))


async def test_scripts_and_styles_are_gzipped_for_a_browser_that_accepts_it(client: httpx.AsyncClient) -> None:
    for url in await asset_urls(client):
        response = await client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert response.content == original(url)  # httpx decodes the body
        if url.endswith(".png"):
            assert "content-encoding" not in response.headers
            assert "Accept-Encoding" not in response.headers.get("Vary", "")
            continue
        assert response.headers["content-encoding"] == "gzip"
        assert "Accept-Encoding" in response.headers["Vary"]
        compressed = int(response.headers["content-length"])
        assert compressed < len(original(url)) / 2
        assert response.headers["ETag"].endswith('-gzip"')
        # The identity copy's tag does not validate the compressed one.
        identity = (await client.get(url, headers={"Accept-Encoding": "identity"})).headers["ETag"]
        revalidated = await client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": identity})
        assert revalidated.status_code == 200
        for refused in ("gzip;q=0", "gzip; q=0.0, identity", "br", "gzip;q=nope"):
            plain = await client.get(url, headers={"Accept-Encoding": refused})
            assert "content-encoding" not in plain.headers, refused
            assert int(plain.headers["content-length"]) == len(original(url))


@pytest.mark.parametrize(
    "path",
    [
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/favicon.png",
        "/docs/assets/",
        "/docs/assets/core.py",
        "/docs/assets/..%2fcore.py",
        "/docs/assets/%2e%2e/%2e%2e/pyproject.toml",
        "/docs/assets/swagger-ui.0123456789abcdef0123.css",
        "/docs/assets/favicon.png%00",
        "/docs/assets/" + "a" * 5000,
    ],
)
async def test_nothing_but_the_named_files_is_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    if "%00" in path:
        error_of(response, 422, "VALIDATION_ERROR")
    else:
        error_of(response, 404, "NOT_FOUND")


async def test_the_pages_follow_the_root_path_of_a_proxy(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app, root_path="/folio")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as proxied:
        swagger = (await proxied.get("/folio/docs")).text
        redoc = (await proxied.get("/folio/redoc")).text
        assert "url: '/folio/openapi.json'" in swagger
        assert "window.location.origin + '/folio/docs/oauth2-redirect'" in swagger
        assert '<redoc spec-url="/folio/openapi.json">' in redoc
        urls = ASSET.findall(swagger) + ASSET.findall(redoc)
        assert urls == []
        prefixed = re.findall(r'(?:src|href)="(/folio/docs/assets/[^"]+)"', swagger + redoc)
        assert len(set(prefixed)) == 4
        for url in prefixed:
            assert (await proxied.get(url, headers={"Accept-Encoding": "identity"})).content == original(url)


async def test_the_pages_and_files_are_not_operations_of_the_api(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert [path for path in paths if path.startswith(("/docs", "/redoc"))] == []


async def test_the_description_is_a_short_introduction_that_points_to_the_codes(client: httpx.AsyncClient) -> None:
    description = (await client.get("/openapi.json")).json()["info"]["description"]
    assert "GET /api/v1/errors" in description
    assert "| code |" not in description
    assert len(description) < 400


async def test_the_error_codes_are_listed_publicly_with_status_and_meaning(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/errors")
    assert response.status_code == 200
    listed = response.json()
    ours = {code: error for code, error in ERROR_CODES.items() if error.__module__.startswith("folio.")}
    assert [entry["code"] for entry in listed] == sorted(ours)
    assert len(listed) > 100
    for entry in listed:
        error = ours[entry["code"]]
        assert entry == {"code": error.code, "status": error.status_code, "meaning": error.describe()}
        assert entry["meaning"]
    assert {"code": "NOT_FOUND", "status": 404, "meaning": ours["NOT_FOUND"].describe()} in listed


async def test_the_error_codes_operation_is_documented_with_its_model_and_an_example(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/api/v1/errors"]["get"]
    assert operation["operationId"] == "ops-list_error_codes"
    assert "security" not in operation
    content = operation["responses"]["200"]["content"]["application/json"]
    assert content["schema"]["items"] == {"$ref": "#/components/schemas/ErrorCodeRead"}
    assert {entry["code"] for entry in content["example"]} == {"NOT_FOUND", "RATE_LIMIT_EXCEEDED"}
    assert set(spec["components"]["schemas"]["ErrorCodeRead"]["required"]) == {"code", "status", "meaning"}


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/v1/errors/NOT_FOUND", 404, "NOT_FOUND"),
        ("POST", "/api/v1/errors", 405, "METHOD_NOT_ALLOWED"),
        ("GET", "/api/v1/errors?code=%00", 422, "VALIDATION_ERROR"),
    ],
)
async def test_the_error_codes_refuse_what_they_do_not_offer(
    client: httpx.AsyncClient, method: str, path: str, status: int, code: str
) -> None:
    error_of(await client.request(method, path), status, code)
