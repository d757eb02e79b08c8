"""/docs and /redoc render every operation in a real browser that can reach no host but the local server: the pages
need nothing from a CDN. Then a raw HTTP client tries to read other files through the assets' routes.

Chromium is Debian's `chromium` package. Without it these tests skip, unless FOLIO_REQUIRE_BROWSER=1 (CI), which
makes its absence a failure."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from folio.main import create_app
from tests.conftest import make_settings
from tests.live_server import serve_in_thread

# Every name but the server's address resolves to nothing, so a page that needs a CDN stays blank.
OFFLINE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    # Virtual time: the DOM is dumped once the page has been idle this long, however long loading took.
    "--virtual-time-budget=5000",
    # The page's console on stderr: scripts that failed, and what the Content-Security-Policy blocked.
    "--enable-logging=stderr",
    "--v=0",
]
BROWSER_TIMEOUT = 180


@pytest.fixture(scope="module")
def chromium() -> str:
    """Asked for first, so that a skip comes before the server starts."""
    path = shutil.which("chromium")
    if path is not None:
        return path
    reason = "chromium is not installed (apt-get install -y chromium)"
    if os.environ.get("FOLIO_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason}, and FOLIO_REQUIRE_BROWSER=1 requires it")
    pytest.skip(f"{reason}; FOLIO_REQUIRE_BROWSER=1 turns this skip into a failure")


@pytest.fixture(scope="module")
def live_url(database_url: str) -> Iterator[str]:
    with serve_in_thread(create_app(make_settings(database_url))) as url:
        yield url


@pytest.fixture(scope="module")
def spec(live_url: str) -> dict[str, Any]:
    # Also builds the document once before the browsers ask for it.
    response = httpx.get(f"{live_url}/openapi.json", timeout=60)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = [operation for item in spec["paths"].values() for operation in item.values() if "operationId" in operation]
    assert len(found) > 100
    return found


@dataclass
class Rendered:
    dom: str
    console: list[str]

    def blocked(self) -> list[str]:
        return [line for line in self.console if "Content Security Policy" in line]


@pytest.fixture(scope="module")
def rendered(
    chromium: str, live_url: str, spec: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Rendered]:
    """The DOM and console of /docs and /redoc after rendering, both browsers run at once."""
    pages = {"/docs": tmp_path_factory.mktemp("swagger"), "/redoc": tmp_path_factory.mktemp("redoc")}
    running = {
        page: subprocess.Popen(  # noqa: S603 (our own arguments)
            [chromium, *OFFLINE_FLAGS, f"--user-data-dir={profile}", "--dump-dom", live_url + page],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        for page, profile in pages.items()
    }
    dumps: dict[str, Rendered] = {}
    try:
        for page, process in running.items():
            out, err = process.communicate(timeout=BROWSER_TIMEOUT)
            log = err.decode(errors="replace")
            assert process.returncode == 0, log[-2000:]
            dumps[page] = Rendered(out.decode(), [line for line in log.splitlines() if ":CONSOLE" in line])
    finally:
        for process in running.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    return dumps


def test_swagger_ui_renders_every_operation_offline(rendered: dict[str, Rendered], spec: dict[str, Any]) -> None:
    swagger = rendered["/docs"]
    expected = {f"operations-{operation['tags'][0]}-{operation['operationId']}" for operation in operations(spec)}
    shown = set(re.findall(r'<div class="opblock [^"]*" id="([^"]+)"', swagger.dom))
    assert shown, ["Swagger UI rendered no operation", *swagger.console]
    assert sorted(expected - shown) == []
    assert sorted(shown - expected) == []
    assert "Failed to load API definition" not in swagger.dom
    assert swagger.blocked() == []


def test_redoc_renders_every_operation_offline(rendered: dict[str, Rendered], spec: dict[str, Any]) -> None:
    redoc = rendered["/redoc"]
    expected = {f"operation/{operation['operationId']}" for operation in operations(spec)}
    shown = set(re.findall(r'data-section-id="(operation/[^"]+)"', redoc.dom))
    assert shown, ["ReDoc rendered no operation", *redoc.console]
    assert sorted(expected - shown) == []
    assert sorted(shown - expected) == []
    assert "Something went wrong" not in redoc.dom
    # Its search worker runs (worker-src blob:); only Redocly's logo is refused, and ReDoc then hides it.
    assert [line for line in redoc.blocked() if "https://cdn.redoc.ly/redoc/logo-mini.svg" not in line] == []


def raw_get(live_url: str, target: bytes) -> tuple[int, bytes]:
    """GET `target` exactly as written (no client normalises `..` or escapes); the status and the body."""
    address = urlsplit(live_url)
    assert address.hostname is not None
    assert address.port is not None
    with socket.create_connection((address.hostname, address.port), timeout=30) as connection:
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize(
    "target",
    [
        b"/docs/assets/../../pyproject.toml",
        b"/docs/assets/../assets/favicon.png",
        b"/docs/assets/%2e%2e/%2e%2e/etc/passwd",
        b"/docs/assets/..%2f..%2f..%2fetc%2fpasswd",
        b"/docs/assets/%2e%2e%5c%2e%2e%5cetc%5cpasswd",
        b"/docs/assets/..\\..\\core.py",
        b"/docs/assets//etc/passwd",
        b"/docs/assets/favicon.png%00.js",
        b"/docs/assets/redoc.standalone.js",
    ],
)
def test_the_assets_routes_serve_no_other_file(live_url: str, target: bytes) -> None:
    status, body = raw_get(live_url, target)
    assert status in {400, 404, 422}, (status, body[:200])
    assert b'"error"' in body or status == 400
    assert b"root:" not in body
    assert b"[project]" not in body
