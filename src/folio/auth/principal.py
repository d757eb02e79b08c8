"""Who is acting: a user in an organization with a role, or an API key with scopes. Every domain gets one."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal
from uuid import UUID

from folio.models.membership import Role


class Scope(StrEnum):
    DOCUMENTS_READ = "documents:read"
    DOCUMENTS_WRITE = "documents:write"
    SEARCH = "search"
    ANSWERS = "answers"
    ADMIN = "admin"


_VIEWER = frozenset({Scope.DOCUMENTS_READ, Scope.SEARCH, Scope.ANSWERS})
_EDITOR = _VIEWER | {Scope.DOCUMENTS_WRITE}
_ADMIN = _EDITOR | {Scope.ADMIN}

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.VIEWER: _VIEWER,
    Role.EDITOR: _EDITOR,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _ADMIN,
}


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: UUID
    scopes: frozenset[Scope]
    user_id: UUID | None = None
    role: Role | None = None
    api_key_id: UUID | None = None
    session_id: UUID | None = None

    @classmethod
    def for_member(cls, *, org_id: UUID, user_id: UUID, role: Role, session_id: UUID | None = None) -> Principal:
        return cls(org_id=org_id, scopes=ROLE_SCOPES[role], user_id=user_id, role=role, session_id=session_id)

    @property
    def kind(self) -> Literal["user", "api_key"]:
        return "api_key" if self.api_key_id is not None else "user"

    @property
    def member_id(self) -> UUID | None:
        """The user acting in person; None for an API key, which only borrows its creator's id for limits."""
        return self.user_id if self.api_key_id is None else None

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes

    def at_least(self, role: Role) -> bool:
        return self.role is not None and self.role.rank >= role.rank
