"""Live events over a WebSocket: `wss://<host>/api/v1/ws`.

**Authenticate** in the handshake or in the first message. Browsers, which cannot set headers on a WebSocket,
offer two subprotocols, `folio.v1` and `bearer.<access token or API key>`; the server selects `folio.v1` and never
sends the credential back: `new WebSocket(url, ["folio.v1", "bearer." + token])`. Other clients may send
`Authorization: Bearer <token>` or `X-API-Key: <key>` instead, or nothing and then, within
`FOLIO_EVENTS__AUTH_TIMEOUT_SECONDS` (10), `{"type": "auth", "token": "<token or key>"}`. A user in several
organizations names one with the `org_id` query parameter, the `X-Org-Id` header or the `auth` message's `org_id`;
otherwise the token's organization is used, as on HTTP. Once accepted, the server sends
`{"type": "authenticated", "org_id", "principal", "expires_at"}`. The connection closes (4401) when the access token
expires, unless an `auth` message brings a fresh token of the same user first; every minute the credential is
checked again, so a revoked key or session, or a removed member, reads no longer.

**Subscribe** to topics: `{"type": "subscribe", "topics": ["org"]}`. A topic is `org` (every event you may read),
`jobs` or `documents` (events about jobs, about documents), or the id of a job, document or record batch of your
organization (the events about it and about what works on it, such as a document's ingestion job). The server
answers `{"type": "subscribed", "topics": [...]}` with every topic the connection follows, after an
`{"type": "error", "code": "UNKNOWN_TOPIC", ...}` naming the topics it refused (unknown names, and ids that are not
your organization's). `{"type": "unsubscribe", "topics": [...]}` removes topics; `{"type": "ping"}` is answered
`{"type": "pong"}`. A connection follows at most 100 topics; a message is at most 4 KiB of JSON text.

**Events** arrive as their JSON, unwrapped (the `Event` schema: `id`, `type` such as `job.succeeded`, `org_id`,
`subject`, `actor`, `data`, `created_at`); an event's `type` always holds a dot, the server's own messages' never.
Administration events (`member.*`, `api_key.*`, `webhook.*`) need the `admin` scope; the rest need
`documents:read`. After `FOLIO_EVENTS__HEARTBEAT_SECONDS` (15) without a message the server sends
`{"type": "heartbeat"}`.

**Resume** after a reconnect with the last event `id` you received: the `since` query parameter, or `since` in the
first `subscribe` message. The stored events after it are replayed, then live ones follow, each exactly once
(`job.progress` is live only and is not replayed). Subscribe to all your topics in that first message.

**Close codes.** The server sends an `error` message, then closes with one of these codes and the error's code as
the reason:

- `1003`: a binary frame; send JSON as text.
- `1008`: a message that is not JSON of this protocol, holds a NUL character or names more than 100 topics; or a
  bad `since`, `org_id` or `X-Org-Id` in the handshake.
- `1009`: a message over 4 KiB.
- `1011`: an unexpected server error.
- `1012`: the server is restarting (`SERVER_BUSY`, `details.reason` `restarting`); reconnect, to another process,
  with `since` set to the last event id you received.
- `1013`: the database is unavailable; reconnect later.
- `4401`: no credential, or an invalid, revoked or expired one (`AUTH_REQUIRED`, `AUTH_INVALID`, `AUTH_EXPIRED`),
  also when the access token expires while connected.
- `4403`: the credential may read no event (an API key with neither `documents:read` nor `admin`:
  `EVENTS_FORBIDDEN`), or its user is not a member of the organization named (`ORG_ACCESS_DENIED`).
- `4408`: no credential within the authentication timeout.
- `4429`: the organization has too many live streams open (`TOO_MANY_STREAMS`, `FOLIO_EVENTS__MAX_CONNECTIONS_PER_ORG`);
  the client fell too far behind or stopped reading (`SUBSCRIBER_TOO_SLOW`: reconnect with `since`); or too many
  authentication attempts (`RATE_LIMIT_EXCEEDED`).

A handshake is refused before the WebSocket opens (an HTTP status and the error envelope) when the client offers
subprotocols without `folio.v1`, when the URL holds a NUL character, or when the server is full (503). A plain
HTTP `GET` of this path answers 426 `UPGRADE_REQUIRED`.
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from uuid import UUID

from fastapi import Query, WebSocket, WebSocketDisconnect

from folio.auth.deps import CurrentPrincipal, authenticated
from folio.deps import API_V1
from folio.error_handlers import render
from folio.errors import ServerBusy, ValidationFailed
from folio.events.errors import UpgradeRequired
from folio.events.hub import ServerRestarting
from folio.events.ws_protocol import SUBPROTOCOL, ErrorMessage
from folio.events.ws_session import CLOSE_SECONDS, Services, serve
from folio.observability.context import request_id_var
from folio.routing import Router

router = Router(tags=["events"])

PATH = f"{API_V1}/ws"
# The standard close code for "Service Restart": the client may reconnect at once.
SERVICE_RESTART = 1012


@router.websocket(PATH)
async def live_events(websocket: WebSocket) -> None:
    offered = websocket.scope.get("subprotocols", [])
    if offered and SUBPROTOCOL not in offered:
        refusal = ValidationFailed(f"Offer the {SUBPROTOCOL} subprotocol.", details={"subprotocols": [SUBPROTOCOL]})
        if "websocket.http.response" in websocket.scope.get("extensions", {}):
            await websocket.send_denial_response(render(refusal))
        else:
            await websocket.close(1008)
        return
    await websocket.accept(subprotocol=SUBPROTOCOL if offered else None)
    state = websocket.app.state
    services = Services(
        hub=state.hub,
        settings=state.settings.events,
        sessionmaker=state.sessionmaker,
        tokens=state.access_tokens,
        limiter=state.rate_limiter,
    )
    await serve_until_restart(websocket, services)


async def serve_until_restart(websocket: WebSocket, services: Services) -> None:
    """Serve the connection until it closes, or until the process stops: then close it with 1012, whatever it was
    doing (authenticating, waiting for a subscription, streaming)."""
    restarting = services.hub.restarting
    serving = asyncio.ensure_future(serve(websocket, services))
    stopping = asyncio.ensure_future(restarting.wait())
    try:
        await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        serving.cancel()  # nothing when it has ended
    try:
        await serving
    except (asyncio.CancelledError, ServerRestarting):
        if not restarting.is_set():
            raise
        await _close_for_restart(websocket)


async def _close_for_restart(websocket: WebSocket) -> None:
    error = ServerBusy("The server is restarting: reconnect with `since`.", details={"reason": "restarting"})
    try:
        async with asyncio.timeout(CLOSE_SECONDS):
            await websocket.send_text(ErrorMessage.of(error, request_id_var.get()).model_dump_json())
            await websocket.close(SERVICE_RESTART, error.code)
    except (TimeoutError, WebSocketDisconnect, RuntimeError):  # the peer is gone, or the socket closed meanwhile
        return


@router.get(
    PATH,
    summary="Live events (WebSocket)",
    description=__doc__,
    status_code=101,
    response_model=None,
    responses={
        101: {
            "description": "Switching Protocols: the WebSocket is open; events (the `Event` schema) and the "
            "server's own messages follow."
        },
        **authenticated(UpgradeRequired),
    },
)
async def websocket(
    principal: CurrentPrincipal,
    since: Annotated[int | None, Query(ge=0, description="Resume after this event id.")] = None,
    org_id: Annotated[UUID | None, Query(description="The organization to act in (as X-Org-Id).")] = None,
) -> None:
    raise UpgradeRequired(headers={"Upgrade": "websocket", "Connection": "Upgrade"})
