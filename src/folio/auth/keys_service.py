"""API keys: made by a member (scopes capped by their role) or by an operator, authenticated by secret."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.audit.service import AuditAction, audit
from folio.auth.errors import (
    ApiKeyNotFound,
    AuthExpired,
    AuthInvalid,
    ExpiryInPast,
    OrgAccessDenied,
    ScopeNotAllowed,
)
from folio.auth.identity import Identity, KeyCard
from folio.auth.keys_repository import ApiKeyRepository
from folio.auth.principal import ROLE_SCOPES, Principal, Scope
from folio.auth.principal_cache import invalidate, key_tag
from folio.auth.tokens import API_KEY_DISPLAY_LENGTH, new_api_key_secret, secret_digest
from folio.errors import Forbidden
from folio.events.outbox import actor_of, emit
from folio.events.schemas import SYSTEM, Actor, ApiKeyData, EventType
from folio.models import ApiKey
from folio.pagination import Paged, PageRequest


async def create_key(
    session: AsyncSession,
    *,
    principal: Principal,
    name: str,
    scopes: Collection[Scope],
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    """The key and its secret; the secret is shown this once and stored only as a digest."""
    if principal.member_id is None:
        raise Forbidden("API keys cannot create API keys; sign in as a member.")
    beyond = set(scopes) - principal.scopes
    if beyond:
        raise ScopeNotAllowed(details={"not_allowed": sorted(beyond)})
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise ExpiryInPast(details={"field": "expires_at"})
    key, secret = await _store(
        session,
        org_id=principal.org_id,
        created_by=principal.member_id,
        name=name,
        scopes=scopes,
        expires_at=expires_at,
    )
    await _audit_key(session, key, AuditAction.API_KEY_CREATED, principal)
    return key, secret


async def create_operator_key(
    session: AsyncSession, *, org_id: UUID, name: str, scopes: Collection[Scope]
) -> tuple[ApiKey, str]:
    """A key made from the command line by someone with database access, bound only by its scopes."""
    key, secret = await _store(session, org_id=org_id, created_by=None, name=name, scopes=scopes, expires_at=None)
    await _audit_key(session, key, AuditAction.API_KEY_CREATED, None)
    return key, secret


async def page_keys(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[ApiKey]:
    return await ApiKeyRepository(session).page(principal, page)


async def revoke_key(session: AsyncSession, *, principal: Principal, key_id: UUID) -> None:
    key = await ApiKeyRepository(session).get(principal, key_id)
    if key is None:
        raise ApiKeyNotFound()
    key.revoked_at = datetime.now(UTC)
    invalidate(session, key_tag(key.id))
    _emit_key(session, key, EventType.API_KEY_REVOKED, actor_of(principal))
    await _audit_key(session, key, AuditAction.API_KEY_REVOKED, principal)
    await session.flush()


async def identity_from_api_key(session: AsyncSession, *, secret: str, org_id: UUID | None) -> Identity:
    repository = ApiKeyRepository(session)
    found = await repository.by_secret_hash(secret_digest(secret))
    if found is None or found.key.revoked_at is not None:
        raise AuthInvalid("Unknown or revoked API key.")
    key = found.key
    if key.expires_at is not None and key.expires_at <= datetime.now(UTC):
        raise AuthExpired("This API key has expired.")
    if org_id is not None and org_id != key.org_id:
        raise OrgAccessDenied("An API key acts only in its own organization.")
    scopes = frozenset(Scope(scope) for scope in key.scopes)
    if key.created_by is not None:
        # A key never outlives or outranks the member who made it.
        if found.creator_role is None or not found.creator_active:
            raise AuthInvalid("The member who created this API key no longer has access.")
        scopes &= ROLE_SCOPES[found.creator_role]
    await repository.touch(key)
    # The creator's role and business units bound what the key does, as its scopes do.
    principal = Principal(
        org_id=key.org_id,
        scopes=scopes,
        user_id=key.created_by,
        api_key_id=key.id,
        role=found.creator_role,
        units=found.creator_units,
    )
    return Identity(
        principal=principal,
        org=found.org,
        user=found.creator,
        api_key=KeyCard(id=key.id, name=key.name, prefix=key.prefix),
        expires_at=None if key.expires_at is None else key.expires_at.timestamp(),
    )


async def _store(
    session: AsyncSession,
    *,
    org_id: UUID,
    created_by: UUID | None,
    name: str,
    scopes: Collection[Scope],
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    secret = new_api_key_secret()
    key = ApiKey(
        org_id=org_id,
        created_by=created_by,
        name=name,
        prefix=secret[:API_KEY_DISPLAY_LENGTH],
        secret_hash=secret_digest(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    await ApiKeyRepository(session).add(key)
    _emit_key(
        session, key, EventType.API_KEY_CREATED, SYSTEM if created_by is None else Actor(type="user", id=created_by)
    )
    return key, secret


def _emit_key(session: AsyncSession, key: ApiKey, type: EventType, actor: Actor) -> None:
    data = ApiKeyData(name=key.name, prefix=key.prefix)
    emit(session, org_id=key.org_id, type=type, subject_id=key.id, data=data, actor=actor)


async def _audit_key(session: AsyncSession, key: ApiKey, action: AuditAction, actor: Principal | None) -> None:
    details = {"name": key.name, "prefix": key.prefix, "scopes": key.scopes, "expires_at": key.expires_at}
    await audit(
        session, org_id=key.org_id, action=action, actor=actor, target_type="api_key", target_id=key.id, details=details
    )
