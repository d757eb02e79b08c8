"""`GET /api/v1/errors`: the stable error codes, with the status and meaning of each."""

from __future__ import annotations

from folio.api_docs.schemas import ErrorCodeRead
from folio.errors import ERROR_CODES, NotFound, RateLimitExceeded
from folio.routing import Router
from folio.schemas import API_V1

router = Router(prefix=f"{API_V1}/errors", tags=["ops"])

_EXAMPLE = [ErrorCodeRead.of(error).model_dump() for error in (NotFound, RateLimitExceeded)]


@router.get(
    "",
    response_model=list[ErrorCodeRead],
    summary="List the error codes",
    description='Every `code` an error envelope `{"error": {"code", "message", "details", "request_id"}}` '
    "may carry, sorted, with the HTTP status it comes with and what it means. Codes are stable: branch on them, "
    "not on messages. Public: no credentials needed.",
    responses={200: {"content": {"application/json": {"example": _EXAMPLE}}}},
)
async def list_error_codes() -> list[ErrorCodeRead]:
    # Read when asked, not at import: every domain's errors module has registered its codes by then.
    return [
        ErrorCodeRead.of(error) for _, error in sorted(ERROR_CODES.items()) if error.__module__.startswith("folio.")
    ]
