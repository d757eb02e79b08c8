"""Objects in an S3-compatible store (AWS S3, MinIO, R2, Ceph…) that every API and worker process reaches.

Uploads stream as S3 multipart uploads of `part_mb` parts; a file smaller than one part goes in one PUT."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import obstore
from obstore.store import S3Store

from folio.documents.storage.base import (
    CHUNK_BYTES,
    KEY,
    CappedWriter,
    ObjectInfo,
    StoredFile,
    attachment,
    new_key,
)
from folio.settings.storage import StorageSettings

if TYPE_CHECKING:
    from obstore import AsyncWritableFile, Attributes, GetOptions, ObjectMeta
    from obstore.store import ClientConfig, S3Config

# obstore's defaults for every request but reads: connected within 5 s, done within 30 s (a part, a HEAD, a DELETE).
REQUESTS: ClientConfig = {}
# A read goes at its reader's pace (a client downloading through the API, for as long as it takes): no limit on the
# whole request, but a store that sends nothing for a minute has failed.
READS: ClientConfig = {"timeout": timedelta(days=1), "read_timeout": timedelta(minutes=1)}
# Parts uploaded at once by one writer. The writer holds up to this many parts in flight and the one it fills, so an
# upload's memory is about (1 + this) × part size, whatever the file's size.
PARTS_IN_FLIGHT = 2


class S3Storage:
    def __init__(self, settings: StorageSettings) -> None:
        self.store = _store(settings, REQUESTS)
        self.reads = _store(settings, READS)
        self.part_bytes = settings.part_mb * 1024 * 1024
        self.presign = timedelta(seconds=settings.presign_seconds) if settings.presigned_downloads else None

    async def writer(self, *, max_bytes: int, filename: str | None = None, media_type: str | None = None) -> S3Writer:
        """`filename` and `media_type` go with the object (its Content-Disposition and Content-Type): a presigned GET
        answers with the object's own headers, since a presigned URL cannot carry response overrides here."""
        attributes: Attributes = {}
        if filename is not None:
            attributes["Content-Disposition"] = attachment(filename)
        if media_type is not None:
            attributes["Content-Type"] = media_type
        key = new_key()
        file = obstore.open_writer_async(
            self.store, key, attributes=attributes, buffer_size=self.part_bytes, max_concurrency=PARTS_IN_FLIGHT
        )
        return S3Writer(key, file, max_bytes)

    async def info(self, key: str) -> ObjectInfo:
        meta = await obstore.head_async(self.store, _checked(key))
        return ObjectInfo(size=meta["size"], modified=meta["last_modified"])

    async def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        if end is not None and end <= start:
            return  # S3 refuses an empty range
        options: GetOptions = {}
        if end is not None:
            options["range"] = (start, end)
        elif start:
            options["range"] = {"offset": start}
        result = await obstore.get_async(self.reads, _checked(key), options=options)
        async for chunk in result.stream(min_chunk_size=CHUNK_BYTES):
            yield chunk

    @asynccontextmanager
    async def local_copy(self, key: str, *, head: int | None = None) -> AsyncIterator[Path]:
        """A temporary file (in TMPDIR), deleted when the context ends."""
        # Its size first: a range on an empty object is refused.
        end = None if head is None else min(head, (await self.info(key)).size)
        descriptor, name = await anyio.mkstemp(prefix="folio-")
        os.close(descriptor)
        path = Path(name)
        try:
            async with await anyio.open_file(path, "wb") as file:
                async for chunk in self.read(key, end=end):
                    await file.write(chunk)
            yield path
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.Path(path).unlink(missing_ok=True)

    async def download_url(self, key: str) -> str | None:
        if self.presign is None:
            return None
        return await obstore.sign_async(self.store, "GET", _checked(key), self.presign)

    async def delete(self, key: str) -> None:
        # S3 answers a deletion of a missing object with success.
        await obstore.delete_async(self.store, _checked(key))

    async def check(self) -> None:
        """One listing of at most one key: a missing bucket, refused credentials or an unreachable store raise."""
        async for _ in obstore.list(self.store, chunk_size=1):
            break

    async def stale(self, older_than: timedelta) -> list[str]:
        """Only keys this storage makes: a shared bucket's other objects are never candidates for deletion. Abandoned
        multipart uploads are left to the bucket's lifecycle rule (AbortIncompleteMultipartUpload)."""
        before = datetime.now(UTC) - older_than
        stale = []
        async for objects in obstore.list(self.store, chunk_size=1000):
            stale += [meta["path"] for meta in objects if _stale(meta, before)]
        return stale


class S3Writer(CappedWriter["AsyncWritableFile"]):
    """Hashes and counts on the way. obstore buffers one part, then starts a multipart upload and sends each part
    as it fills; `commit` completes the upload (or PUTs a file smaller than a part), `abort` aborts it."""

    def __init__(self, key: str, file: AsyncWritableFile, max_bytes: int) -> None:
        super().__init__(key, file, max_bytes)
        self.closed = False

    async def commit(self) -> StoredFile:
        self.closed = True
        await self.file.close()
        return self.stored()

    async def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        # obstore aborts the multipart upload only when its context manager exits with an exception.
        await self.file.__aexit__(UploadAborted, UploadAborted(), None)


class UploadAborted(Exception):
    pass


def _store(settings: StorageSettings, client: ClientConfig) -> S3Store:
    if not settings.bucket:
        raise ValueError("S3 storage needs a bucket")
    config: S3Config = {"region": settings.region}
    if settings.endpoint_url:
        config["endpoint"] = settings.endpoint_url
    if settings.access_key_id and settings.secret_access_key:
        config["access_key_id"] = settings.access_key_id.get_secret_value()
        config["secret_access_key"] = settings.secret_access_key.get_secret_value()
    return S3Store(
        settings.bucket,
        prefix=settings.prefix.strip("/") or None,
        config=config,
        # A local MinIO or moto answers over plain HTTP; AWS and anything over HTTPS does not need this.
        client_options={**client, "allow_http": (settings.endpoint_url or "").startswith("http://")},
    )


def _stale(meta: ObjectMeta, before: datetime) -> bool:
    return meta["last_modified"] < before and KEY.fullmatch(meta["path"]) is not None


def _checked(key: str) -> str:
    if not KEY.fullmatch(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key
