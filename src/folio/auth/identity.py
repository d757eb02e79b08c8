"""What authenticating a request finds: the principal, and what /auth/me shows of who it is. Read from the
database in one statement, and kept as it is by the principal cache (`folio.auth.principal_cache`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from folio.auth.principal import Principal


@dataclass(frozen=True, slots=True)
class UserCard:
    id: UUID
    email: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class OrgCard:
    id: UUID
    name: str


@dataclass(frozen=True, slots=True)
class KeyCard:
    id: UUID
    name: str
    prefix: str


@dataclass(frozen=True, slots=True)
class Identity:
    """`user` is the signed-in user, or the member who created the API key (None for an operator's key);
    `expires_at` is when the credential stops working (Unix seconds; None: never)."""

    principal: Principal
    org: OrgCard
    user: UserCard | None
    api_key: KeyCard | None
    expires_at: float | None
