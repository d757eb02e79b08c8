"""A link's visitors: no credentials, the token is the key. Every visit counts against the client's address (the
anonymous rate limit), so tokens and passwords cannot be guessed at speed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path, Request, Response
from fastapi.responses import FileResponse

from folio.auth import passwords
from folio.db import release
from folio.deps import API_V1, SessionDep, StorageDep, client_address, rate_limit
from folio.documents.downloads import DOWNLOAD_RESPONSES, stored_file
from folio.documents.errors import StoredFileMissing
from folio.documents.filetypes import MEDIA_TYPES
from folio.error_handlers import error_responses
from folio.errors import RateLimitExceeded, ValidationFailed
from folio.ratelimit import Policy
from folio.routing import Router
from folio.shares.errors import ShareLinkLocked, ShareLinkNotFound, ShareLinkPasswordRequired
from folio.shares.links import service
from folio.shares.links.schemas import PublicDocumentRead, PublicItem, PublicSummaryRead

router = Router(prefix=f"{API_V1}/public/links", tags=["shares"])

# The token is in the URL: no caching, no Referer carrying it elsewhere, no indexing.
_PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow"}
_ERRORS = error_responses(
    ShareLinkNotFound, ShareLinkPasswordRequired, ShareLinkLocked, RateLimitExceeded, ValidationFailed
)
# Tokens are `fsl_` and URL-safe base64; anything else is refused before it is looked up.
Token = Annotated[str, Path(min_length=1, max_length=service.MAX_TOKEN_LENGTH, pattern=r"^[A-Za-z0-9_-]+$")]
Password = Annotated[
    str | None, Header(max_length=passwords.MAX_LENGTH, description="The link's password, when it has one.")
]
_ANSWERS = (
    "Unknown token, expired or revoked link and wrong password all answer the same 404 `SHARE_LINK_NOT_FOUND`; a "
    "protected link asked without a password answers 401 `SHARE_LINK_PASSWORD_REQUIRED`, and after "
    f"{service.MAX_PASSWORD_ATTEMPTS} wrong ones 429 `SHARE_LINK_LOCKED` for "
    f"{int(service.LOCK_DURATION.total_seconds() // 60)} minutes. Every visit is logged for the link's maker."
)


async def _visit(request: Request, token: str, password: str | None, *, download: bool) -> service.Visit:
    await rate_limit(request, Policy.ANONYMOUS, client_address(request))
    return service.Visit(
        token=token,
        password=password,
        ip=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
        download=download,
    )


@router.get(
    "/{token}",
    response_model=PublicItem,
    responses=_ERRORS,
    summary="Read a shared item (no authentication)",
    description=f"The item only: a document's title, file name, type and text, or a summary's text, format and "
    f"document title. {_ANSWERS}",
)
async def open_share_link(
    token: Token,
    request: Request,
    response: Response,
    session: SessionDep,
    x_share_password: Password = None,
) -> Any:
    shown = await service.open_link(session, await _visit(request, token, x_share_password, download=False))
    response.headers.update(_PRIVATE)
    if isinstance(shown, service.PublicSummary):
        return PublicSummaryRead(document_title=shown.document_title, text=shown.text, format=shown.format)
    return PublicDocumentRead(
        title=shown.title, filename=shown.filename, content_type=MEDIA_TYPES[shown.kind], text=shown.text
    )


@router.get(
    "/{token}/file",
    response_class=FileResponse,
    responses={
        **_ERRORS,
        **error_responses(StoredFileMissing),
        200: {"description": "The document's original bytes, as an attachment."},
        **DOWNLOAD_RESPONSES,
    },
    summary="Download a shared document's original file (no authentication)",
    description=f"Only for a link to a document. {_ANSWERS}",
)
async def download_share_link_file(
    token: Token,
    request: Request,
    session: SessionDep,
    storage: StorageDep,
    x_share_password: Password = None,
) -> Response:
    file = await service.open_file(session, await _visit(request, token, x_share_password, download=True))
    await release(session)  # the object store answers with no connection held
    return await stored_file(
        request,
        storage,
        file.storage_key,
        filename=file.filename,
        media_type=MEDIA_TYPES[file.kind],
        # Never rendered as a page of this origin, even an HTML file.
        headers={**_PRIVATE, "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )
