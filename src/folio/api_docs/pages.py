"""Swagger UI at /docs (with its OAuth2 redirect page) and ReDoc at /redoc, each served with a Content-Security-Policy
that allows exactly its scripts: Folio's own copies of the bundles and the page's inline start-up scripts by hash
(no 'unsafe-inline' for scripts, no other host)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

from folio.api_docs.assets import FAVICON, REDOC_JS, SWAGGER_CSS, SWAGGER_JS, docs_assets

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
# Swagger UI would show a badge from validator.swagger.io for a document that is not on localhost.
_SWAGGER_PARAMETERS = {"validatorUrl": None}


def page_policy(html: str, *, workers: str | None = None) -> str:
    """The page's CSP: its own inline scripts by SHA-256, everything else from this origin only (and `workers`,
    the sources of Web Workers, when the page starts some)."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    # Styles inline too: Swagger UI and ReDoc set style attributes and inject <style> elements as they render.
    return (
        f"default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        + (f"; worker-src {workers}" if workers else "")
    )


def _with_policy(page: HTMLResponse, *, workers: str | None = None) -> HTMLResponse:
    html = bytes(page.body).decode()
    policy = page_policy(html, workers=workers)
    # The page names the assets by hash, so it is asked for again after an upgrade; the assets are kept.
    return HTMLResponse(html, headers={"Content-Security-Policy": policy, "Cache-Control": "no-cache"})


Page = Callable[[Request], Awaitable[HTMLResponse]]


def install_docs(app: FastAPI) -> None:
    """Serve /docs, /redoc and their assets (create the app with `docs_url=None, redoc_url=None`)."""
    assets = docs_assets()
    openapi_url = app.openapi_url or "/openapi.json"

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    async def swagger_ui(request: Request) -> HTMLResponse:
        prefix = root(request)
        return _with_policy(
            get_swagger_ui_html(
                openapi_url=prefix + openapi_url,
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=prefix + OAUTH2_REDIRECT_URL,
                swagger_js_url=prefix + assets[SWAGGER_JS].path,
                swagger_css_url=prefix + assets[SWAGGER_CSS].path,
                swagger_favicon_url=prefix + assets[FAVICON].path,
                swagger_ui_parameters=_SWAGGER_PARAMETERS,
            )
        )

    async def oauth2_redirect(_: Request) -> HTMLResponse:
        return _with_policy(get_swagger_ui_oauth2_redirect_html())

    async def redoc(request: Request) -> HTMLResponse:
        prefix = root(request)
        return _with_policy(
            get_redoc_html(
                openapi_url=prefix + openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=prefix + assets[REDOC_JS].path,
                redoc_favicon_url=prefix + assets[FAVICON].path,
                with_google_fonts=False,
            ),
            # ReDoc's search runs in a worker it starts from a blob of its own script.
            workers="blob:",
        )

    pages: dict[str, Page] = {DOCS_URL: swagger_ui, OAUTH2_REDIRECT_URL: oauth2_redirect, REDOC_URL: redoc}
    for path, page in pages.items():
        app.add_route(path, page, include_in_schema=False)
    # One route per file at its hashed path: nothing but these files can be asked for.
    for asset in assets.values():
        app.add_route(asset.path, asset.respond, include_in_schema=False)
