from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import ConfigDict, Field

from folio.models import AuditActorType, AuditEntry
from folio.schemas import ReadModel

_EXAMPLE: dict[str, Any] = {
    "id": 4812,
    "created_at": "2026-12-06T09:14:03.512Z",
    "action": "api_key.created",
    "actor": {
        "type": "user",
        "user_id": "01937c1e-6a3b-7c55-9d0e-2f6a8b1c4d5e",
        "api_key_id": None,
        "email": "ada@example.com",
    },
    "target": {"type": "api_key", "id": "01937c2a-0b1c-7d2e-8f3a-4b5c6d7e8f90"},
    "ip": "203.0.113.7",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
    "request_id": "9f1c0e7b2a6d4f1e8c3b5a7d9e0f1a2b",
    "details": {"name": "CI uploader", "prefix": "folio_ab12cd", "scopes": ["documents:write"], "expires_at": None},
}


class AuditActorRead(ReadModel):
    type: AuditActorType = Field(
        description="`user`; `api_key` (acting for `user_id`, its creator, unless an operator made it); "
        "`anonymous`: no credential, over HTTP (a failed login, a share link's visitor); `system`: the server "
        "itself or its command line."
    )
    user_id: UUID | None = Field(description="The member, or the API key's creator.")
    api_key_id: UUID | None
    email: str | None = Field(description="The user's email when the entry was written (kept if they leave).")


class AuditTargetRead(ReadModel):
    type: str = Field(examples=["user", "api_key", "invitation", "webhook", "organization"])
    id: str | None


class AuditEntryRead(ReadModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: int = Field(description="Increases with every entry of the server.")
    created_at: datetime = Field(description="Set by the database when the entry was written.")
    action: str = Field(description="What happened, such as `auth.login_failed` (see the `action` filter).")
    actor: AuditActorRead
    target: AuditTargetRead | None = Field(description="What the action was done to; null when nothing in particular.")
    ip: str | None = Field(description="The client's address (behind trusted proxies, the one they forwarded).")
    user_agent: str | None = Field(description="The client's User-Agent, cut to 256 characters.")
    request_id: str | None = Field(description="The request's X-Request-ID, to find it in the server's logs.")
    details: dict[str, Any] = Field(
        description="What the action changed, bounded in size; never a password, a secret or a token (URLs keep "
        "only their scheme, host and port)."
    )

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryRead:
        return cls(
            id=entry.id,
            created_at=entry.created_at,
            action=entry.action,
            actor=AuditActorRead(
                type=entry.actor_type,
                user_id=entry.actor_user_id,
                api_key_id=entry.actor_api_key_id,
                email=entry.actor_email,
            ),
            target=None if entry.target_type is None else AuditTargetRead(type=entry.target_type, id=entry.target_id),
            ip=entry.ip,
            user_agent=entry.user_agent,
            request_id=entry.request_id,
            details=entry.details,
        )
