"""Uploads at the HTTP edge: a multipart body read once the request is authenticated, its files streamed to storage
and its text fields parsed, for documents and record batches alike."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Request
from pydantic_core import PydanticCustomError

from folio.auth.deps import requires
from folio.auth.principal import Principal, Scope
from folio.deps import SettingsDep, StorageDep
from folio.documents.multipart import UploadedFile, UploadLimits, read_upload
from folio.documents.service import DocumentFields
from folio.errors import ValidationFailed
from folio.observability.middleware import STATE_BODY_LIMIT
from folio.schemas import METADATA_BYTES, json_limit_error, too_deep

Writer = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]
F = TypeVar("F")

MAX_TAGS = 50
MAX_TAG_LENGTH = 64
MAX_METADATA_BYTES = METADATA_BYTES


@dataclass(frozen=True, slots=True)
class Upload(Generic[F]):
    """The files, already in storage, and the other fields, parsed."""

    files: list[UploadedFile]
    fields: F


def upload(parse: Callable[[dict[str, str]], F], *, max_files: int) -> Callable[..., AsyncIterator[Upload[F]]]:
    """A dependency reading the upload: each file streamed to storage and hashed, within the limits of the settings,
    and the text fields parsed by `parse`. Its files are deleted when the route fails.

    Declare it with `scope="function"` and after the session: it is closed before the commit, so a commit that fails
    (and might have succeeded) deletes no file; the orphaned-file sweep takes those of a commit that did fail."""

    async def read(request: Request, _: Writer, settings: SettingsDep, storage: StorageDep) -> AsyncIterator[Upload[F]]:
        # Depending on the principal makes authentication come first; the multipart reader then caps each file,
        # the number of files and fields, and the fields' bytes.
        request.scope["state"][STATE_BODY_LIMIT] = None
        limits = UploadLimits(
            max_file_bytes=settings.max_upload_mb * 1024 * 1024,
            max_files=max_files,
            max_fields=settings.http.max_form_fields,
            max_form_bytes=settings.http.max_form_kb * 1024,
        )
        form = await read_upload(request.stream(), request.headers.get("content-type", ""), storage, limits)
        try:
            yield Upload(form.files, parse(form.fields))
        except BaseException:
            for uploaded in form.files:
                await storage.delete(uploaded.stored.key)
            raise

    return read


def document_fields(fields: dict[str, str]) -> DocumentFields:
    """The optional `title`, `tags` (JSON array or comma-separated) and `metadata` (JSON object) form fields."""
    title = fields.get("title", "").strip() or None
    if title is not None and len(title) > 500:
        raise ValidationFailed("The title exceeds 500 characters.", details={"field": "title"})
    return DocumentFields(
        title=title, tags=_parse_tags(fields.get("tags", "")), metadata=_parse_metadata(fields.get("metadata"))
    )


DocumentUpload = Annotated[Upload[DocumentFields], Depends(upload(document_fields, max_files=20), scope="function")]


def _parse_tags(raw: str) -> list[str]:
    raw = raw.strip()
    if not raw:
        return []
    if raw.startswith("["):
        try:
            values = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValidationFailed("`tags` is not valid JSON.", details={"field": "tags"}) from exc
        except RecursionError:  # nested far too deep to be an array of strings
            values = None
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise ValidationFailed("`tags` must be a JSON array of strings.", details={"field": "tags"})
    else:
        values = raw.split(",")
    tags = list(dict.fromkeys(tag.strip() for tag in values if tag.strip()))
    if len(tags) > MAX_TAGS or any(len(tag) > MAX_TAG_LENGTH or "\x00" in tag for tag in tags):
        raise ValidationFailed(
            f"At most {MAX_TAGS} tags of at most {MAX_TAG_LENGTH} characters.", details={"field": "tags"}
        )
    return tags


def _parse_metadata(raw: str | None) -> dict[str, Any]:
    if raw is None or not raw.strip():
        return {}
    if len(raw.encode()) > MAX_METADATA_BYTES:
        raise ValidationFailed(f"`metadata` exceeds {MAX_METADATA_BYTES} bytes.", details={"field": "metadata"})
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValidationFailed("`metadata` is not valid JSON.", details={"field": "metadata"}) from exc
    except RecursionError:  # nested so deep that the decoder gave up, far past the limit
        raise _metadata_out_of_bounds(too_deep()) from None
    if not isinstance(value, dict):
        raise ValidationFailed("`metadata` must be a JSON object.", details={"field": "metadata"})
    if (error := json_limit_error(value, max_bytes=MAX_METADATA_BYTES)) is not None:
        raise _metadata_out_of_bounds(error)
    if "\\u0000" in raw:
        raise ValidationFailed("`metadata` must not contain NUL characters.", details={"field": "metadata"})
    return value


def _metadata_out_of_bounds(error: PydanticCustomError) -> ValidationFailed:
    # With the `errors` of a JSON body's validation error, so a client reads both the same way.
    found = {"loc": ["body", "metadata"], "message": error.message(), "type": error.type}
    return ValidationFailed(f"`metadata` is {error.message()}.", details={"field": "metadata", "errors": [found]})
