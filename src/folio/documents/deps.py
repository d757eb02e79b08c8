"""The body of an upload: readable past the JSON limit only once the request is authenticated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from folio.auth.deps import requires
from folio.auth.principal import Principal, Scope
from folio.documents.multipart import UploadLimits
from folio.observability.middleware import STATE_BODY_LIMIT
from folio.settings import Settings

Writer = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]


def upload_limits(settings: Settings, *, max_files: int) -> UploadLimits:
    return UploadLimits(
        max_file_bytes=settings.max_upload_mb * 1024 * 1024,
        max_files=max_files,
        max_fields=settings.http.max_form_fields,
        max_form_bytes=settings.http.max_form_kb * 1024,
    )


async def upload_body(request: Request, _: Writer) -> AsyncIterator[bytes]:
    """The request body as it streams in. Depending on the principal makes authentication come first; the
    multipart reader then caps each file, the number of files and fields, and the fields' bytes."""
    request.scope["state"][STATE_BODY_LIMIT] = None
    return request.stream()


UploadBody = Annotated[AsyncIterator[bytes], Depends(upload_body)]
