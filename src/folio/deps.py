"""Dependencies shared by every domain's router: the request's transaction, paging, rate limits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.errors import FolioError
from folio.observability.middleware import STATE_RESPONSE_HEADERS
from folio.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from folio.ratelimit import Policy, RateLimiter

# Routers carry the full prefix themselves, so a route's path is its whole template (for logs and metrics).
API_V1 = "/api/v1"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed when the endpoint returns, rolled back when it raises.

    Its after-commit effects (`folio.effects`: job dispatch, events, file deletion) run with the commit, before
    the response is sent.
    """
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except FolioError as error:
            if error.keep_changes:
                await session.commit()
            raise
        else:
            await session.commit()


# scope="function" commits before the response is sent, so a client never sees data that was not stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=64, description="`next_cursor` of the previous page.")] = None,
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
