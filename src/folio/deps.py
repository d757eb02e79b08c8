"""Dependencies shared by every domain's router: the request's transaction, paging, rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.requests import HTTPConnection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.documents.storage import Storage
from folio.effects import has_queued_effects
from folio.embeddings.factory import LazyProvider
from folio.errors import FolioError
from folio.events.hub import Hub
from folio.llm.registry import LLMRegistry
from folio.observability.middleware import STATE_RESPONSE_HEADERS
from folio.pagination import CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from folio.ratelimit import Policy, RateLimiter
from folio.schemas import API_V1 as API_V1  # where routers have always found it
from folio.settings import Settings
from folio.usage.service import Meter

# Routers carry the full prefix themselves, so a route's path is its whole template (for logs and metrics).


def _app_state(name: str) -> Callable[[HTTPConnection], Awaitable[Any]]:
    """What the lifespan (`folio.main`) put on `app.state` under `name`, for HTTP and WebSocket routes alike.

    A coroutine function, though it never waits: FastAPI runs a plain function in a worker thread, and the hop
    there and back cost more than the rest of a cached request's dependencies.
    """

    async def read(connection: HTTPConnection) -> Any:
        return getattr(connection.app.state, name)

    return read


SettingsDep = Annotated[Settings, Depends(_app_state("settings"))]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(_app_state("sessionmaker"))]
StorageDep = Annotated[Storage, Depends(_app_state("storage"))]
EmbedderDep = Annotated[LazyProvider, Depends(_app_state("embedder"))]
RegistryDep = Annotated[LLMRegistry, Depends(_app_state("llm"))]
MeterDep = Annotated[Meter, Depends(_app_state("usage"))]
HubDep = Annotated[Hub, Depends(_app_state("hub"))]


async def get_session(connection: HTTPConnection) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the endpoint returns, rolled back when it raises.

    Its after-commit effects (`folio.effects`: job dispatch, events, file deletion) run with the commit, before
    the response is sent. It takes a connection with its first statement: a request that reads nothing (its
    principal from the cache, an early refusal) opens no transaction, and has none to commit.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = connection.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except FolioError as error:
            if error.keep_changes:
                await session.commit()
            raise
        else:
            if _has_work(session):
                await session.commit()


def _has_work(session: AsyncSession) -> bool:
    """Whether committing would do anything: a transaction, objects not flushed yet, or after-commit effects."""
    return bool(
        session.in_transaction() or session.new or session.dirty or session.deleted or has_queued_effects(session)
    )


# scope="function" commits before the response is sent, so a client never sees data that was not stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def page_request(  # a coroutine function for the reason of `_app_state`
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=64,
            description="`next_cursor` of the previous page.",
            json_schema_extra={"pattern": CURSOR_PATTERN},
        ),
    ] = None,
) -> PageRequest:
    return PageRequest.from_cursor(limit, cursor)


PageDep = Annotated[PageRequest, Depends(page_request)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def rate_limit(request: Request, policy: Policy, identity: str) -> None:
    """Count the request; the window's X-RateLimit-* headers go on whatever response follows."""
    limiter: RateLimiter = request.app.state.rate_limiter
    window = await limiter.hit(policy, identity)
    if window is not None:
        request.scope.setdefault("state", {})[STATE_RESPONSE_HEADERS] = window.headers()


async def limit_auth_attempts(request: Request) -> None:
    """The strict per-address policy of login, registration and refresh."""
    await rate_limit(request, Policy.AUTH, client_address(request))
