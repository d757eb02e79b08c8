"""Documents (`/documents`): upload files and folders, list, read, change and delete."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from folio_client._core import Call, Core, Flow, path
from folio_client._uploads import (
    UPLOAD_TIMEOUT,
    Checkpoint,
    FileSource,
    FileUpload,
    FolderUpload,
    collect,
    upload,
    upload_call,
    upload_file,
)
from folio_client.models import Chunk, Document, DocumentContent, DocumentStatus, FileKind, Job, UploadedDocument
from folio_client.pagination import AsyncPager, PageData, SyncPage
from folio_client.resources._base import AsyncResource, SyncResource, query

OnFileProgress = Callable[[Path, int], None]
OnFile = Callable[[FileUpload], None]


def _upload_call(
    core: Core,
    file: FileSource,
    *,
    filename: str | None = None,
    title: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    allow_duplicate: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> Call:
    return upload_call(
        file,
        filename=filename,
        title=title,
        tags=tags,
        metadata=metadata,
        allow_duplicate=allow_duplicate,
        on_progress=on_progress,
        timeout=httpx.Timeout(UPLOAD_TIMEOUT, connect=core.timeout.connect),
    )


def _folder(
    core: Core,
    folder: str | os.PathLike[str],
    *,
    pattern: str,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
    allow_duplicate: bool,
    checkpoint: str | os.PathLike[str] | None,
    on_progress: OnFileProgress | None,
    on_file: OnFile | None,
) -> tuple[list[Flow[FileUpload]], list[Path]]:
    """A flow per file to send, and the files left out."""
    root = Path(folder)
    files, skipped = collect(root, pattern)
    record = Checkpoint(None if checkpoint is None else Path(checkpoint), root)

    def flow(file: Path) -> Flow[FileUpload]:
        progress = None if on_progress is None else (lambda sent: on_progress(file, sent))
        call = _upload_call(
            core, file, tags=tags, metadata=metadata, allow_duplicate=allow_duplicate, on_progress=progress
        )
        outcome = yield from upload_file(core, file, call, record)
        if on_file is not None:
            on_file(outcome)
        return outcome

    return [flow(file) for file in files], skipped


def _list(
    core: Core,
    cursor: str | None,
    *,
    status: DocumentStatus | None,
    kind: FileKind | None,
    tags: Sequence[str] | None,
    created_after: datetime | None,
    created_before: datetime | None,
    title_contains: str | None,
    limit: int | None,
) -> Flow[PageData[Document]]:
    params = query(
        status=status,
        type=kind,
        tag=None if tags is None else list(tags),
        created_after=created_after,
        created_before=created_before,
        q=title_contains,
        limit=limit,
        cursor=cursor,
    )
    return core.fetch(Call("GET", path("/documents"), params=params), PageData[Document])


def _get(core: Core, document_id: UUID | str) -> Flow[Document]:
    return core.fetch(Call("GET", path("/documents/{}", document_id)), Document)


def _update(
    core: Core,
    document_id: UUID | str,
    *,
    title: str | None,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any] | None,
) -> Flow[Document]:
    body: dict[str, Any] = {}
    if title is not None:
        body["title"] = title
    if tags is not None:
        body["tags"] = list(tags)
    if metadata is not None:
        body["metadata"] = dict(metadata)
    call = Call("PATCH", path("/documents/{}", document_id), json=body, retry_safe=True)
    return core.fetch(call, Document)


def _delete(core: Core, document_id: UUID | str) -> Flow[None]:
    yield from core.send(Call("DELETE", path("/documents/{}", document_id)))


def _content(core: Core, document_id: UUID | str) -> Flow[DocumentContent]:
    return core.fetch(Call("GET", path("/documents/{}/content", document_id)), DocumentContent)


def _chunks(core: Core, document_id: UUID | str, cursor: str | None, limit: int | None) -> Flow[PageData[Chunk]]:
    call = Call("GET", path("/documents/{}/chunks", document_id), params=query(limit=limit, cursor=cursor))
    return core.fetch(call, PageData[Chunk])


def _reindex(core: Core, document_id: UUID | str) -> Flow[Job]:
    return core.fetch(Call("POST", path("/documents/{}/reindex", document_id)), Job)


class Documents(SyncResource):
    def upload(
        self,
        file: FileSource,
        *,
        filename: str | None = None,
        title: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_duplicate: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> UploadedDocument:
        """Send a file (a path, or bytes with a `filename`) for ingestion. The answer holds the document and its
        ingestion `job_id` (wait for it with `jobs.wait`); content the organization already has answers with that
        document, `deduplicated`, unless `allow_duplicate`. `on_progress` hears the bytes sent so far."""
        call = _upload_call(
            self._core,
            file,
            filename=filename,
            title=title,
            tags=tags,
            metadata=metadata,
            allow_duplicate=allow_duplicate,
            on_progress=on_progress,
        )
        return self._run(upload(self._core, call))

    def upload_folder(
        self,
        folder: str | os.PathLike[str],
        *,
        pattern: str = "**/*",
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_duplicate: bool = False,
        concurrency: int = 4,
        checkpoint: str | os.PathLike[str] | None = None,
        on_progress: OnFileProgress | None = None,
        on_file: OnFile | None = None,
    ) -> FolderUpload:
        """Send the files under `folder` that match `pattern` (all, recursively, by default) and that the server
        reads (other types and hidden files are `skipped`), `concurrency` at a time. A file the server refuses is
        that file's `error`; refused credentials, a rate limit that outlasts the retries or a server failure stop
        the upload and are raised. With `checkpoint` (a file the upload keeps), a second run skips the files the
        first one sent, unchanged since. `on_progress(path, bytes_sent)` and `on_file(outcome)` are called from
        the upload threads."""
        flows, skipped = _folder(
            self._core,
            folder,
            pattern=pattern,
            tags=tags,
            metadata=metadata,
            allow_duplicate=allow_duplicate,
            checkpoint=checkpoint,
            on_progress=on_progress,
            on_file=on_file,
        )
        return FolderUpload(self._driver.map(flows, concurrency), skipped)

    def list(
        self,
        *,
        status: DocumentStatus | None = None,
        kind: FileKind | None = None,
        tags: Sequence[str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        title_contains: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SyncPage[Document]:
        """Documents oldest first; iterating the page goes on through the next ones (`limit` per request). With
        `cursor` (a page's `next_cursor`, kept), the list goes on from where that page ended."""
        return self._pages(
            lambda at: _list(
                self._core,
                at,
                status=status,
                kind=kind,
                tags=tags,
                created_after=created_after,
                created_before=created_before,
                title_contains=title_contains,
                limit=limit,
            ),
            cursor,
        )

    def get(self, document_id: UUID | str) -> Document:
        return self._run(_get(self._core, document_id))

    def update(
        self,
        document_id: UUID | str,
        *,
        title: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Document:
        """Change the title, or replace the tags or the metadata."""
        return self._run(_update(self._core, document_id, title=title, tags=tags, metadata=metadata))

    def delete(self, document_id: UUID | str) -> None:
        """Delete the document, its file, chunks and pending jobs (deleting it again is no error)."""
        self._run(_delete(self._core, document_id))

    def content(self, document_id: UUID | str) -> DocumentContent:
        """The extracted text, with its page boundaries."""
        return self._run(_content(self._core, document_id))

    def chunks(
        self, document_id: UUID | str, *, limit: int | None = None, cursor: str | None = None
    ) -> SyncPage[Chunk]:
        return self._pages(lambda at: _chunks(self._core, document_id, at, limit), cursor)

    def reindex(self, document_id: UUID | str) -> Job:
        """Ingest again; the new version replaces the old one when its job succeeds."""
        return self._run(_reindex(self._core, document_id))


class AsyncDocuments(AsyncResource):
    async def upload(
        self,
        file: FileSource,
        *,
        filename: str | None = None,
        title: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_duplicate: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> UploadedDocument:
        call = _upload_call(
            self._core,
            file,
            filename=filename,
            title=title,
            tags=tags,
            metadata=metadata,
            allow_duplicate=allow_duplicate,
            on_progress=on_progress,
        )
        return await self._run(upload(self._core, call))

    async def upload_folder(
        self,
        folder: str | os.PathLike[str],
        *,
        pattern: str = "**/*",
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        allow_duplicate: bool = False,
        concurrency: int = 4,
        checkpoint: str | os.PathLike[str] | None = None,
        on_progress: OnFileProgress | None = None,
        on_file: OnFile | None = None,
    ) -> FolderUpload:
        flows, skipped = _folder(
            self._core,
            folder,
            pattern=pattern,
            tags=tags,
            metadata=metadata,
            allow_duplicate=allow_duplicate,
            checkpoint=checkpoint,
            on_progress=on_progress,
            on_file=on_file,
        )
        return FolderUpload(await self._driver.map(flows, concurrency), skipped)

    def list(
        self,
        *,
        status: DocumentStatus | None = None,
        kind: FileKind | None = None,
        tags: Sequence[str] | None = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        title_contains: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> AsyncPager[Document]:
        return self._pages(
            lambda at: _list(
                self._core,
                at,
                status=status,
                kind=kind,
                tags=tags,
                created_after=created_after,
                created_before=created_before,
                title_contains=title_contains,
                limit=limit,
            ),
            cursor,
        )

    async def get(self, document_id: UUID | str) -> Document:
        return await self._run(_get(self._core, document_id))

    async def update(
        self,
        document_id: UUID | str,
        *,
        title: str | None = None,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Document:
        return await self._run(_update(self._core, document_id, title=title, tags=tags, metadata=metadata))

    async def delete(self, document_id: UUID | str) -> None:
        await self._run(_delete(self._core, document_id))

    async def content(self, document_id: UUID | str) -> DocumentContent:
        return await self._run(_content(self._core, document_id))

    def chunks(
        self, document_id: UUID | str, *, limit: int | None = None, cursor: str | None = None
    ) -> AsyncPager[Chunk]:
        return self._pages(lambda at: _chunks(self._core, document_id, at, limit), cursor)

    async def reindex(self, document_id: UUID | str) -> Job:
        return await self._run(_reindex(self._core, document_id))
