"""The first moments of a live-event WebSocket: whose it is, in which organization, and where its stream resumes.

The credential comes with the handshake (the `bearer.<token>` subprotocol, `X-API-Key` or `Authorization: Bearer`)
or in the first message (`{"type": "auth", "token": ...}`) within `FOLIO_EVENTS__AUTH_TIMEOUT_SECONDS`. The
organization is named as on HTTP (`X-Org-Id`), or by the `org_id` query parameter or field of the `auth` message;
without one, the token's or the key's organization.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import jwt
from fastapi import WebSocket, WebSocketDisconnect
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.auth.deps import authenticate
from folio.auth.errors import AuthRequired
from folio.auth.principal import Principal
from folio.auth.tokens import is_api_key
from folio.errors import ValidationFailed
from folio.events import topics
from folio.events.errors import EventsForbidden
from folio.events.schemas import EventType
from folio.events.ws_protocol import BEARER_PREFIX, Authenticated, AuthMessage, ClientMessage, Close, CloseCode, read
from folio.models import Event
from folio.settings import EventSettings


@dataclass(frozen=True, slots=True)
class Access:
    """A credential and the principal it acts as; `expires_at` is an access token's `exp` (None for API keys)."""

    credential: str
    principal: Principal
    expires_at: datetime | None

    @classmethod
    def of(cls, credential: str, principal: Principal) -> Access:
        if not topics.can_follow(principal):
            raise EventsForbidden(details={"needs_one_of": sorted({type.scope.value for type in EventType})})
        return cls(credential, principal, _expiry(credential))

    def message(self) -> str:
        return Authenticated(
            org_id=self.principal.org_id, principal=self.principal.kind, expires_at=self.expires_at
        ).model_dump_json()


async def receive(websocket: WebSocket) -> ClientMessage:
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    return read(message)


async def handshake(websocket: WebSocket, settings: EventSettings) -> Access:
    """The connection's access, from the handshake or the first message."""
    org_id = _one_org(
        _uuid(websocket.query_params.get("org_id"), "org_id"), _uuid(websocket.headers.get("x-org-id"), "X-Org-Id")
    )
    credential = _handshake_credential(websocket)
    if credential is None:
        message = await _auth_message(websocket, settings)
        credential = message.token
        org_id = _one_org(message.org_id, org_id)
    principal = await authenticate(websocket, credential=credential, org_id=org_id)
    return Access.of(credential, principal)


def query_since(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("since")
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise ValidationFailed("`since` must be an event id.", details={"field": "since"})
    return int(raw)


async def since_problem(sessionmaker: async_sessionmaker[AsyncSession], since: int) -> ValidationFailed | None:
    """Why `since` cannot resume a stream: it is newer than every event, so it did not come from this server (and
    would hide the events up to it)."""
    async with sessionmaker() as session:
        newest = await session.scalar(select(func.coalesce(func.max(Event.id), 0))) or 0
    if since <= newest:
        return None
    return ValidationFailed(
        "`since` is newer than any event: it did not come from this server.",
        details={"field": "since", "newest": newest},
    )


def _handshake_credential(websocket: WebSocket) -> str | None:
    for offered in websocket.scope.get("subprotocols", []):
        if offered.startswith(BEARER_PREFIX):
            return str(offered).removeprefix(BEARER_PREFIX)
    if api_key := websocket.headers.get("x-api-key"):
        return api_key
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _auth_message(websocket: WebSocket, settings: EventSettings) -> AuthMessage:
    try:
        async with asyncio.timeout(settings.auth_timeout_seconds):
            message = await receive(websocket)
    except TimeoutError:
        error = AuthRequired(f"No credentials within {settings.auth_timeout_seconds:g} seconds.")
        raise Close(CloseCode.AUTH_TIMEOUT, error) from None
    if not isinstance(message, AuthMessage):
        raise AuthRequired("Authenticate first: send an `auth` message, or a credential with the handshake.")
    return message


def _uuid(raw: str | None, field: str) -> UUID | None:
    if raw is None:
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise ValidationFailed(f"`{field}` must be a UUID.", details={"field": field}) from None


def _one_org(*choices: UUID | None) -> UUID | None:
    named = {choice for choice in choices if choice is not None}
    if len(named) > 1:
        raise ValidationFailed("Two different organizations were named.", details={"field": "org_id"})
    return next(iter(named), None)


def _expiry(credential: str) -> datetime | None:
    """When an access token expires; None for an API key, whose expiry and revocation the periodic check finds.
    Read only once `authenticate` verified the token's signature and claims."""
    if is_api_key(credential):
        return None
    claims = jwt.decode(credential, options={"verify_signature": False})
    return datetime.fromtimestamp(claims["exp"], UTC)
