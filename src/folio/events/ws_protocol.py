"""The live-event WebSocket's vocabulary: close codes, the messages a client sends and those it receives."""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from starlette.types import Message

from folio.errors import FolioError, NulCharacter, PayloadTooLarge, ValidationFailed
from folio.events.topics import MAX_TOPICS
from folio.observability.middleware import holds_nul

SUBPROTOCOL = "folio.v1"
# A subprotocol `bearer.<access token or API key>` carries the credential of a browser, which cannot set headers.
BEARER_PREFIX = "bearer."
MAX_MESSAGE_BYTES = 4096


class CloseCode(IntEnum):
    UNSUPPORTED_DATA = 1003
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    TRY_AGAIN_LATER = 1013
    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    AUTH_TIMEOUT = 4408
    TOO_MANY = 4429


class Close(Exception):
    """Ends the connection: the client is sent `error` as an error message, then the close frame with `code` and
    the error's code as the reason."""

    def __init__(self, code: CloseCode, error: FolioError) -> None:
        super().__init__(code, error.code)
        self.code = code
        self.error = error


# What the client sends.

TopicName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _ClientMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthMessage(_ClientMessage):
    """The credential, when the handshake carried none; later, a fresh access token for the same principal."""

    type: Literal["auth"]
    token: str = Field(min_length=1, description="An access token or an API key.")
    org_id: UUID | None = Field(None, description="The organization to act in, for users who belong to several.")


class SubscribeMessage(_ClientMessage):
    type: Literal["subscribe"]
    topics: list[TopicName] = Field(min_length=1, max_length=MAX_TOPICS)
    since: int | None = Field(
        None, ge=0, description="Resume after this event id; only before the first topic is subscribed."
    )


class UnsubscribeMessage(_ClientMessage):
    type: Literal["unsubscribe"]
    topics: list[TopicName] = Field(min_length=1, max_length=MAX_TOPICS)


class PingMessage(_ClientMessage):
    type: Literal["ping"]


ClientMessage = Annotated[
    AuthMessage | SubscribeMessage | UnsubscribeMessage | PingMessage, Field(discriminator="type")
]
_CLIENT_MESSAGE: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


def read(message: Message) -> ClientMessage:
    """The client's message from an ASGI `websocket.receive`; raises Close when it cannot be read."""
    text: str | None = message.get("text")
    if text is None:
        raise Close(
            CloseCode.UNSUPPORTED_DATA, ValidationFailed("Send JSON in text frames; binary frames are refused.")
        )
    data = text.encode()
    if len(data) > MAX_MESSAGE_BYTES:
        raise Close(CloseCode.MESSAGE_TOO_BIG, PayloadTooLarge(details={"max_bytes": MAX_MESSAGE_BYTES}))
    if holds_nul(data):
        raise Close(CloseCode.POLICY_VIOLATION, NulCharacter(details={"in": "message"}))
    try:
        return _CLIENT_MESSAGE.validate_json(data)
    except ValidationError as error:
        # Inputs are left out on purpose: they may be tokens.
        errors = [{"loc": list(each["loc"]), "message": each["msg"], "type": each["type"]} for each in error.errors()]
        raise Close(CloseCode.POLICY_VIOLATION, ValidationFailed(details={"errors": errors})) from None


# What the server sends, besides events.


class Authenticated(BaseModel):
    """Sent once the credential is accepted (and again after each `auth` message)."""

    type: Literal["authenticated"] = "authenticated"
    org_id: UUID
    principal: Literal["user", "api_key"]
    expires_at: datetime | None = Field(
        description="When the access token expires and the connection closes with 4401, unless an `auth` message "
        "brings a fresh one first; null for API keys."
    )


class Subscribed(BaseModel):
    """The answer to `subscribe` and `unsubscribe`: every topic the connection now follows."""

    type: Literal["subscribed"] = "subscribed"
    topics: list[str]


class ErrorMessage(BaseModel):
    """A refused request (the connection stays open), or the reason of the close that follows."""

    type: Literal["error"] = "error"
    code: str = Field(examples=["UNKNOWN_TOPIC"])
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = Field(None, description="The X-Request-ID of the handshake, for support.")

    @classmethod
    def of(cls, error: FolioError, request_id: str | None) -> ErrorMessage:
        return cls.model_validate(error.envelope(request_id)["error"])


class Pong(BaseModel):
    type: Literal["pong"] = "pong"


class Heartbeat(BaseModel):
    """Sent after `FOLIO_EVENTS__HEARTBEAT_SECONDS` without another message, so both ends see the link alive."""

    type: Literal["heartbeat"] = "heartbeat"


HEARTBEAT = Heartbeat().model_dump_json()
PONG = Pong().model_dump_json()

ServerMessage = Annotated[Authenticated | Subscribed | ErrorMessage | Pong | Heartbeat, Field(discriminator="type")]
