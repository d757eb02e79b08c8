"""The audit log: security-relevant events, recorded in the transaction of the change they describe.

`audit(...)` adds an entry to the session, so a change that rolls back leaves no entry, and an entry that fails
to write fails the change. Who sent the request (address, User-Agent, request id) comes from the request's
context. Details are bounded, and values under a key that names a secret are never stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any, Final
from urllib.parse import urlsplit
from uuid import UUID

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from folio.audit.repository import AuditFilter, AuditRepository
from folio.auth.principal import Principal
from folio.models import AuditActorType, AuditEntry
from folio.observability.context import request_client_var, request_id_var
from folio.pagination import Paged, PageRequest


class AuditAction(StrEnum):
    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGOUT = "auth.logout"
    SESSION_REVOKED = "auth.session_revoked"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    ORG_UPDATED = "org.updated"
    INVITATION_CREATED = "invitation.created"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_ACCEPTED = "invitation.accepted"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    MEMBER_UNITS_CHANGED = "member.units_changed"
    UNIT_CREATED = "unit.created"
    UNIT_UPDATED = "unit.updated"
    UNIT_DELETED = "unit.deleted"
    CASE_SETTINGS_UPDATED = "case_settings.updated"
    LLM_SETTINGS_UPDATED = "llm_settings.updated"
    LLM_SETTINGS_REMOVED = "llm_settings.removed"
    WEBHOOK_CREATED = "webhook.created"
    WEBHOOK_UPDATED = "webhook.updated"
    WEBHOOK_DELETED = "webhook.deleted"
    WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"  # noqa: S105 -- an action's name, as below
    SHARE_LINK_CREATED = "share_link.created"
    SHARE_LINK_REVOKED = "share_link.revoked"
    SHARE_LINK_USED = "share_link.used"
    SHARE_LINK_PASSWORD_FAILED = "share_link.password_failed"  # noqa: S105
    EXPORT_CREATED = "export.created"
    EXPORT_DOWNLOADED = "export.downloaded"


# A person's events (a login, a failed login, a revoked session) are written in each of their organizations, the
# most recently joined first, up to this many.
MAX_ORGS_PER_USER_EVENT: Final = 20
MAX_DETAIL_CHARS: Final = 200
MAX_DETAIL_ITEMS: Final = 20
MAX_DETAILS_BYTES: Final = 4096
REDACTED: Final = "[redacted]"
# What stands for a value nested deeper than details keep.
TOO_DEEP: Final = "…"
_MAX_DEPTH = 3
# A details key holding one of these words never keeps its value, whichever caller passed it.
_SECRET_WORDS = ("password", "secret", "token", "credential")
_MAX_USER_AGENT = 256
_MAX_IP = 64


async def audit(
    session: AsyncSession,
    *,
    org_id: UUID,
    action: AuditAction,
    actor: Principal | None,
    target_type: str | None = None,
    target_id: UUID | str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Record `action` in `org_id`'s audit log, with the change being made in `session`.

    `actor` None: no principal did it, so the entry's actor is `anonymous` over HTTP (a failed login, a share
    link's visitor) and `system` otherwise (the command line, a periodic job).
    """
    repository = AuditRepository(session)
    client = request_client_var.get()
    actor_type, email = await _actor(repository, actor, over_http=client is not None)
    repository.add(
        AuditEntry(
            org_id=org_id,
            action=action.value,
            actor_type=actor_type,
            actor_user_id=actor.user_id if actor else None,
            actor_api_key_id=actor.api_key_id if actor else None,
            actor_email=email,
            ip=_cut(client.ip, _MAX_IP) if client and client.ip else None,
            user_agent=_cut(client.user_agent, _MAX_USER_AGENT) if client and client.user_agent else None,
            request_id=request_id_var.get(),
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            details=bounded_details(details or {}),
        )
    )


async def audit_user_event(
    session: AsyncSession,
    *,
    user_id: UUID,
    action: AuditAction,
    by_user: bool,
    details: Mapping[str, Any] | None = None,
) -> None:
    """An event of a person rather than of one organization (a login, a logout, a revoked session), in each of
    their organizations. `by_user`: the user did it themselves; otherwise nobody authenticated did (a failed
    login, a stolen refresh token presented again)."""
    for org_id, role in await AuditRepository(session).memberships_of(user_id, MAX_ORGS_PER_USER_EVENT):
        actor = Principal.for_member(org_id=org_id, user_id=user_id, role=role) if by_user else None
        await audit(
            session, org_id=org_id, action=action, actor=actor, target_type="user", target_id=user_id, details=details
        )


async def page_entries(
    session: AsyncSession, *, principal: Principal, page: PageRequest, where: AuditFilter
) -> Paged[AuditEntry]:
    """The organization's entries, newest first (the router lets only `admin` principals ask)."""
    return await AuditRepository(session).page_newest_first(principal, page, where)


def url_origin(url: str | None) -> str | None:
    """What an audit entry keeps of a URL: its scheme, host and port. A path or query may hold a secret (many
    webhook receivers put theirs there)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}"


def bounded_details(details: Mapping[str, Any]) -> dict[str, Any]:
    """Details as stored: strings cut to MAX_DETAIL_CHARS, MAX_DETAIL_ITEMS per mapping or list, two levels deep,
    secrets redacted; over MAX_DETAILS_BYTES in all, only the top-level keys are kept."""
    bounded = _bounded_mapping(details, depth=0)
    if len(orjson.dumps(bounded)) <= MAX_DETAILS_BYTES:
        return bounded
    return {"truncated": True, "keys": list(bounded)}


async def _actor(
    repository: AuditRepository, actor: Principal | None, *, over_http: bool
) -> tuple[AuditActorType, str | None]:
    if actor is None:
        return (AuditActorType.ANONYMOUS if over_http else AuditActorType.SYSTEM), None
    # A key made by a member acts for them: the email is its creator's; an operator's key has none.
    email = await repository.email_of(actor.user_id) if actor.user_id is not None else None
    return (AuditActorType.API_KEY if actor.api_key_id is not None else AuditActorType.USER), email


def _bounded_mapping(mapping: Mapping[Any, Any], *, depth: int) -> dict[str, Any]:
    bounded: dict[str, Any] = {}
    for key, value in list(mapping.items())[:MAX_DETAIL_ITEMS]:
        name = _cut(str(key), 64)
        secret = any(word in name.lower() for word in _SECRET_WORDS)
        bounded[name] = REDACTED if secret else _bounded(value, depth=depth + 1)
    return bounded


def _bounded(value: Any, *, depth: int) -> Any:
    if value is None or isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return value
    if isinstance(value, Enum):
        return _bounded(value.value, depth=depth)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple | set | frozenset) and depth >= _MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, Mapping):
        return _bounded_mapping(value, depth=depth)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return [_bounded(item, depth=depth + 1) for item in items[:MAX_DETAIL_ITEMS]]
    return _cut(str(value), MAX_DETAIL_CHARS)


def _cut(text: str, limit: int) -> str:
    """At most `limit` characters, without NULs (PostgreSQL text and JSONB refuse them)."""
    return text.replace("\x00", "")[:limit]
