"""A stored file as an HTTP answer, for every route that hands one out (documents, exports, share links).

A file on this machine's disk goes out as a FileResponse (sendfile, Range, ETag). An object store's file is either
streamed through the API (one range at most; several are answered with the whole file, which RFC 9110 allows) or,
with `FOLIO_STORAGE__PRESIGNED_DOWNLOADS`, answered with a 307 to a short-lived presigned URL of the object, which
answers with the name and type its writer stored with it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import format_datetime
from typing import Any

import anyio
import structlog
from fastapi import Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from folio.documents.errors import StoredFileMissing
from folio.documents.storage import LocalStorage, ObjectInfo, Storage, attachment

log = structlog.get_logger(__name__)

# At most 18 digits: a longer number is no offset of any file (and past 4,300 digits int() refuses it).
_SINGLE_RANGE = re.compile(r"bytes=(\d{0,18})-(\d{0,18})")
# For the routes' `responses=`: what a download may answer besides its 200 and its errors. StoredFileMissing belongs
# in the route's error list: a 404 entry here would replace the route's own 404 entry, or be replaced by it.
DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    206: {"description": "The byte range a `Range` header asked for."},
    307: {
        "description": "With presigned downloads on (S3 storage): to a short-lived URL of the object itself, which "
        "answers with the file's name (`Content-Disposition`) and type."
    },
}


async def stored_file(
    request: Request, storage: Storage, key: str, *, filename: str, media_type: str, headers: Mapping[str, str]
) -> Response:
    """The file at `key` as an attachment named `filename`, with `headers` on whatever answers; StoredFileMissing
    when the file is gone from storage (a presigned URL is not checked: the store answers it)."""
    if isinstance(storage, LocalStorage):
        path = storage.local_path(key)
        # FileResponse finds out only once it is answering, too late for anything but a 500.
        if not await anyio.Path(path).is_file():
            raise _missing(key)
        return FileResponse(
            path,
            media_type=media_type,
            filename=filename,
            content_disposition_type="attachment",
            headers=dict(headers),
        )
    url = await storage.download_url(key)
    if url is not None:
        # The URL stops working after a while: no cache may keep the redirect longer.
        return RedirectResponse(
            url, status.HTTP_307_TEMPORARY_REDIRECT, headers={**headers, "Cache-Control": "no-store"}
        )
    info = await _info(storage, key)
    modified = format_datetime(info.modified, usegmt=True)
    whole = {
        **headers,
        "Content-Disposition": attachment(filename),
        "Accept-Ranges": "bytes",
        "Last-Modified": modified,
    }
    asked = request.headers.get("range")
    # A client resuming a file that changed since (a synced document's new version) gets the new file whole.
    if asked is None or request.headers.get("if-range", modified) != modified:
        byte_range = None
    else:
        try:
            byte_range = _byte_range(asked, info.size)
        except RangeNotSatisfiable:
            return Response(
                status_code=status.HTTP_416_RANGE_NOT_SATISFIABLE, headers={"Content-Range": f"bytes */{info.size}"}
            )
    if byte_range is None:
        return StreamingResponse(
            storage.read(key), media_type=media_type, headers={**whole, "Content-Length": str(info.size)}
        )
    start, end = byte_range
    return StreamingResponse(
        storage.read(key, start=start, end=end),
        status.HTTP_206_PARTIAL_CONTENT,
        media_type=media_type,
        headers={
            **whole,
            "Content-Length": str(end - start),
            "Content-Range": f"bytes {start}-{end - 1}/{info.size}",
        },
    )


class RangeNotSatisfiable(Exception):
    pass


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one range `header` asks for, as (start, end exclusive); None for the whole file: a server may ignore a
    malformed Range or several ranges."""
    match = _SINGLE_RANGE.fullmatch(header.strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first:
        start, end = int(first), size if not last else min(int(last) + 1, size)
        if last and int(last) < start:
            return None
    else:
        start, end = max(size - int(last), 0), size
    if start >= size or start >= end:
        raise RangeNotSatisfiable()
    return start, end


async def _info(storage: Storage, key: str) -> ObjectInfo:
    try:
        return await storage.info(key)
    except FileNotFoundError:
        raise _missing(key) from None


def _missing(key: str) -> StoredFileMissing:
    # A file removed from storage behind Folio's back: the operator's to look into, with the key to look for.
    log.warning("stored_file_missing", key=key)
    return StoredFileMissing()
