"""The scripts, stylesheet and icon of the documentation pages, served by Folio itself from the installed
fastapi-offline package, so that /docs and /redoc work without reaching a CDN.

Each file is read once per process and published under a name that carries its content's hash: the name changes
whenever the file does, so a browser may keep it for a year without asking again."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path, PurePosixPath

import anyio
import fastapi_offline
from starlette.requests import Request
from starlette.responses import Response

ASSETS_URL = "/docs/assets"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"
FAVICON = "favicon.png"
_MEDIA_TYPES = {
    SWAGGER_JS: "text/javascript; charset=utf-8",
    SWAGGER_CSS: "text/css; charset=utf-8",
    REDOC_JS: "text/javascript; charset=utf-8",
    FAVICON: "image/png",
}
# Text shrinks to a quarter; the PNG is compressed already.
_COMPRESSIBLE = frozenset({SWAGGER_JS, SWAGGER_CSS, REDOC_JS})
_IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass
class Asset:
    name: str
    body: bytes
    media_type: str
    compressible: bool
    digest: str = field(init=False)
    _gzipped: bytes | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.digest = hashlib.sha256(self.body).hexdigest()[:20]

    @property
    def path(self) -> str:
        """`/docs/assets/swagger-ui-bundle.<hash>.js`."""
        name = PurePosixPath(self.name)
        return f"{ASSETS_URL}/{name.stem}.{self.digest}{name.suffix}"

    async def gzipped(self) -> bytes:
        # Compressed on first demand (~50 ms for the bundle) in a thread, then kept; two first requests at once
        # both compress, and either result is the same.
        if self._gzipped is None:
            self._gzipped = await anyio.to_thread.run_sync(partial(gzip.compress, self.body, 6, mtime=0))
        return self._gzipped

    async def respond(self, request: Request) -> Response:
        gzipped = self.compressible and accepts_gzip(request.headers.get("accept-encoding", ""))
        etag = f'"{self.digest}-gzip"' if gzipped else f'"{self.digest}"'
        headers = {"Cache-Control": _IMMUTABLE, "ETag": etag}
        if self.compressible:
            headers["Vary"] = "Accept-Encoding"
        if {etag, "*"} & _entity_tags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
        if gzipped:
            headers["Content-Encoding"] = "gzip"
            return Response(await self.gzipped(), media_type=self.media_type, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header admits gzip (named, not refused with `q=0`)."""
    for entry in accept_encoding.split(","):
        coding, *parameters = (part.strip().lower() for part in entry.split(";"))
        if coding != "gzip":
            continue
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def _entity_tags(if_none_match: str) -> set[str]:
    # A weak comparison, as RFC 9110 asks for If-None-Match: W/"x" matches "x".
    return {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}


@cache
def docs_assets() -> Mapping[str, Asset]:
    """The four files by name, read once per process."""
    static = Path(fastapi_offline.__file__).parent / "static"
    return {
        name: Asset(name, (static / name).read_bytes(), media_type, name in _COMPRESSIBLE)
        for name, media_type in _MEDIA_TYPES.items()
    }
