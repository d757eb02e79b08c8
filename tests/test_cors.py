"""CORS: every origin in development, only the configured ones in production."""

from __future__ import annotations

from tests.conftest import AppFactory
from tests.test_api_docs import asset_urls

PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


async def test_development_allows_any_origin(app_factory: AppFactory) -> None:
    async with app_factory() as client:
        preflight = await client.options("/api/v1/auth/login", headers={"Origin": "http://localhost:3000", **PREFLIGHT})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "*"

        response = await client.get("/health/live", headers={"Origin": "http://localhost:3000"})
        assert response.headers["access-control-allow-origin"] == "*"
        exposed = response.headers["access-control-expose-headers"]
        assert "X-Request-ID" in exposed
        assert "X-RateLimit-Remaining" in exposed


async def test_production_allows_only_listed_origins(app_factory: AppFactory) -> None:
    async with app_factory(env="production", http={"cors_origins": ["https://app.example.com"]}) as client:
        allowed = await client.options("/api/v1/auth/login", headers={"Origin": "https://app.example.com", **PREFLIGHT})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"

        refused = await client.options("/api/v1/auth/login", headers={"Origin": "https://evil.example", **PREFLIGHT})
        assert "access-control-allow-origin" not in refused.headers
        simple = await client.get("/health/live", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers


async def test_production_without_a_list_allows_no_origin(app_factory: AppFactory) -> None:
    async with app_factory(env="production") as client:
        response = await client.get("/health/live", headers={"Origin": "http://localhost:3000"})
        assert "access-control-allow-origin" not in response.headers


async def test_a_request_without_an_origin_is_told_the_answer_varies_by_origin(app_factory: AppFactory) -> None:
    async with app_factory(env="production", http={"cors_origins": ["https://app.example.com"]}) as client:
        plain = await client.get("/health/live")
        assert plain.headers.get_list("vary") == ["Origin"]
        assert "access-control-allow-origin" not in plain.headers

        # A response that varies already keeps its own reason, with Origin added in the same header.
        script = next(url for url in await asset_urls(client) if url.endswith(".js"))
        compressed = await client.get(script, headers={"Accept-Encoding": "gzip"})
        assert compressed.headers["content-encoding"] == "gzip"
        assert compressed.headers.get_list("vary") == ["Accept-Encoding, Origin"]

        # With an Origin, Starlette's own answer, which varies the same way.
        allowed = await client.get(script, headers={"Accept-Encoding": "gzip", "Origin": "https://app.example.com"})
        assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
        assert allowed.headers.get_list("vary") == ["Accept-Encoding, Origin"]
