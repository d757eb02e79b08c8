"""Render every error as the Folio envelope, and describe errors in OpenAPI."""

from __future__ import annotations

from contextlib import suppress
from typing import Any, cast

import structlog
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.types import ExceptionHandler

from folio.db_retry import busy_answer
from folio.errors import (
    ERROR_CODES,
    ErrorEnvelope,
    FolioError,
    InternalError,
    MethodNotAllowed,
    NotFound,
    ServerBusy,
    ValidationFailed,
)
from folio.observability.context import request_id_var

log = structlog.get_logger(__name__)

# WebSocket close code: the server cannot serve the connection now; the client may come back later.
_TRY_AGAIN_LATER = 1013


def render(error: FolioError) -> JSONResponse:
    return JSONResponse(error.envelope(request_id_var.get()), error.status_code, headers=error.headers)


async def _folio_error(_: Request, exc: Exception) -> JSONResponse:
    return render(cast(FolioError, exc))


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    # Inputs are left out on purpose: they may be passwords or tokens, and the client has them anyway.
    errors = [
        {"loc": list(error.get("loc", ())), "message": error.get("msg", ""), "type": error.get("type", "")}
        for error in cast(RequestValidationError, exc).errors()
    ]
    return render(ValidationFailed(details={"errors": errors}))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    exc = cast(HTTPException, exc)
    # FastAPI wraps errors raised while reading the body (such as our size limit) in a 400.
    if isinstance(exc.__cause__, FolioError):
        return render(exc.__cause__)
    if isinstance(exc.__cause__, RecursionError):  # json.loads of a body nested ~1,000 deep
        nested = {"loc": ["body"], "message": "The JSON is nested too deep.", "type": "json_too_deep"}
        return render(ValidationFailed(details={"errors": [nested]}))
    error: FolioError
    if exc.status_code == 404:
        error = NotFound()
    elif exc.status_code == 405:
        error = MethodNotAllowed(headers={**(exc.headers or {}), "Allow": _allowed_methods(request)})
    elif exc.status_code < 500:
        error = ValidationFailed(str(exc.detail))
    else:
        error = InternalError()
    return render(error)


def _allowed_methods(request: Request) -> str:
    """The methods of the resource the request's path names: of every route with the most literal path template
    that matches it (`/shares/links` rather than `/shares/{share_id}`), as the OpenAPI document lists them.

    Starlette's 405 names the methods of the first route whose path matched, which may be another template, and
    one template is often several routes (`GET` and `POST /units` are two functions; routers included apart may
    share a template).
    """
    path = request.url.path.removeprefix(request.scope.get("root_path", ""))
    routes = [context for context in iter_route_contexts(request.app.routes) if context.methods]
    templates = [str(context.path_format) for context in routes if context.path_regex.match(path)]
    template = min(templates, key=lambda each: each.count("{"), default=None)
    methods = {method for context in routes if context.path_format == template for method in context.methods or ()}
    return ", ".join(sorted(methods))


async def _pool_timeout(_: Request, exc: Exception) -> JSONResponse:
    # Every pooled connection stayed busy for FOLIO_DB__POOL_TIMEOUT_SECONDS: the database is the bottleneck.
    return render(ServerBusy(details={"reason": "database"}, headers={"Retry-After": "2"}))


async def _database_error(connection: HTTPConnection, exc: Exception) -> JSONResponse | None:
    """A passing database error answers 503 with Retry-After: a broken connection (a restart, a failover, a
    terminated backend), a server that refuses connections for now, or a transaction given up for a concurrent one
    (`folio.db_retry`). The same request later is likely to succeed. Any other error goes on to the 500 handler."""
    busy = busy_answer(exc)
    if busy is None:
        raise exc
    log.warning(f"database_{busy.details['reason']}", error=str(exc.__cause__ or exc))
    if isinstance(connection, WebSocket):
        with suppress(RuntimeError, WebSocketDisconnect):  # not accepted yet, or closed meanwhile
            await connection.close(_TRY_AGAIN_LATER, ServerBusy.code)
        return None
    return render(busy)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FolioError, _folio_error)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    # For requests and WebSockets alike: Starlette's type names one or the other.
    database_error = cast(ExceptionHandler, _database_error)
    app.add_exception_handler(DBAPIError, database_error)
    # A connection that could not be opened at all surfaces as the socket's own error (`is_unavailable` tells).
    app.add_exception_handler(OSError, database_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)


def error_responses(*errors: type[FolioError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the errors a route can answer with, one example per code."""
    responses: dict[int | str, dict[str, Any]] = {}
    for error in dict.fromkeys(errors):  # once each, in order
        entry = responses.setdefault(
            error.status_code,
            {"model": ErrorEnvelope, "description": "", "content": {"application/json": {"examples": {}}}},
        )
        entry["description"] = " ".join(filter(None, [entry["description"], f"`{error.code}`: {error.describe()}"]))
        # A code's example is that of the error that defines it (NulCharacter is a case of VALIDATION_ERROR, which
        # the description tells): responses that list the same codes show the same examples, and are shared.
        entry["content"]["application/json"]["examples"][error.code] = {
            "summary": error.code,
            "value": ERROR_CODES[error.code]().envelope("7f3c9a1e0b5d4c2a"),
        }
    return responses
