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
    CASES_READ = "cases:read"
    CASES_WRITE = "cases:write"
    ALERTS_READ = "alerts:read"
    ALERTS_WRITE = "alerts:write"
    INBOX = "inbox"
    SHARES = "shares"
    ANALYTICS = "analytics"
    ADMIN = "admin"


_VIEWER = frozenset(
    {
        Scope.DOCUMENTS_READ,
        Scope.SEARCH,
        Scope.ANSWERS,
        Scope.CASES_READ,
        Scope.ALERTS_READ,
        Scope.INBOX,
        Scope.SHARES,
        Scope.ANALYTICS,
    }
)
_EDITOR = _VIEWER | {Scope.DOCUMENTS_WRITE, Scope.CASES_WRITE}
_MANAGER = _EDITOR | {Scope.ALERTS_WRITE}
_ADMIN = _MANAGER | {Scope.ADMIN}

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.VIEWER: _VIEWER,
    Role.EDITOR: _EDITOR,
    Role.SUPERVISOR: _EDITOR,
    Role.BU_MANAGER: _MANAGER,
    Role.ADMIN: _ADMIN,
    Role.OWNER: _ADMIN,
}


@dataclass(frozen=True, slots=True)
class Principal:
    """`role` is the member's, or for an API key its creator's (the key acts with no more than the creator's
    powers, narrowed by its scopes). `units` are the business units the principal is limited to; None: all."""

    org_id: UUID
    scopes: frozenset[Scope]
    user_id: UUID | None = None
    role: Role | None = None
    api_key_id: UUID | None = None
    session_id: UUID | None = None
    units: frozenset[UUID] | None = None

    @classmethod
    def for_member(
        cls,
        *,
        org_id: UUID,
        user_id: UUID,
        role: Role,
        session_id: UUID | None = None,
        units: frozenset[UUID] | None = None,
    ) -> Principal:
        return cls(
            org_id=org_id, scopes=ROLE_SCOPES[role], user_id=user_id, role=role, session_id=session_id, units=units
        )

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

    def sees_unit(self, unit_id: UUID | None) -> bool:
        """Whether a case of `unit_id` (None: of no unit) is visible to the principal."""
        return self.units is None or (unit_id is not None and unit_id in self.units)
