"""The Swagger UI page, served with a Content-Security-Policy that allows exactly its scripts: the bundle from the
CDN and its inline start-up scripts by hash (no 'unsafe-inline' for scripts)."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
_CDN = "https://cdn.jsdelivr.net"
_FAVICON_HOST = "https://fastapi.tiangolo.com"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def page_policy(html: str) -> str:
    """The page's CSP: its own inline scripts by SHA-256, Swagger's files from the CDN, requests to this origin."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src {_CDN} {hashes}; style-src {_CDN} 'unsafe-inline'; "
        f"img-src 'self' data: {_FAVICON_HOST}; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    )


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    html = bytes(page.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": page_policy(html)})


def install_docs(app: FastAPI) -> None:
    """Serve /docs (create the app with `docs_url=None, redoc_url=None`)."""

    async def swagger_ui(request: Request) -> HTMLResponse:
        root_path = request.scope.get("root_path", "").rstrip("/")
        return _with_policy(
            get_swagger_ui_html(
                openapi_url=root_path + (app.openapi_url or "/openapi.json"),
                title=f"{app.title} - Swagger UI",
                oauth2_redirect_url=root_path + OAUTH2_REDIRECT_URL,
            )
        )

    async def oauth2_redirect(_: Request) -> HTMLResponse:
        return _with_policy(get_swagger_ui_oauth2_redirect_html())

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_URL, oauth2_redirect, include_in_schema=False)
