"""Which language model an organization uses: its own settings when it has them, else the server's.

The stored API key is encrypted with FOLIO_ENCRYPTION_KEYS and leaves this module only inside an `Endpoint`, on
its way to the model's client; nothing here returns it to a caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final, Literal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.audit.service import AuditAction, audit, url_origin
from folio.auth.principal import Principal, Scope
from folio.errors import Forbidden, ValidationFailed
from folio.llm.crypto import CredentialCipher, CredentialUnreadable
from folio.llm.errors import LLMCredentialsUnreadable
from folio.llm.openai_compatible import Endpoint
from folio.llm.repository import LLMSettingsRepository
from folio.models import LLMProviderKind, OrgLLMSettings
from folio.outbound import OutboundPolicy, OutboundURLForbidden
from folio.settings import LLMSettings


class _Keep(Enum):
    KEY = "keep"


# `api_key=KEEP_KEY`: the request left the key out, so the stored one stays (if it may).
KEEP_KEY: Final = _Keep.KEY


@dataclass(frozen=True, slots=True)
class EffectiveLLM:
    provider: LLMProviderKind
    model: str | None
    base_url: str | None
    source: Literal["org", "server"]
    api_key_set: bool
    updated_at: datetime | None = None


async def effective_settings(session: AsyncSession, *, org_id: UUID, server: LLMSettings) -> EffectiveLLM:
    row = await LLMSettingsRepository(session).get(org_id)
    if row is not None:
        return _of_org(row)
    if server.provider == "extractive":
        return EffectiveLLM(LLMProviderKind.EXTRACTIVE, None, None, "server", api_key_set=False)
    return EffectiveLLM(
        LLMProviderKind.OPENAI,
        server.model,
        server.base_url,
        "server",
        api_key_set=bool(server.api_key.get_secret_value()),
    )


async def endpoint_for_org(
    session: AsyncSession, *, org_id: UUID, server: LLMSettings, cipher: CredentialCipher
) -> Endpoint | None:
    """The endpoint the organization's calls go to; None means the offline extractive engine."""
    row = await LLMSettingsRepository(session).get(org_id)
    if row is None:
        if server.provider == "extractive":
            return None
        # The operator's own endpoint: trusted, called without the outbound guard.
        return Endpoint(server.model, server.base_url, server.api_key.get_secret_value(), trusted=True)
    if row.provider is LLMProviderKind.EXTRACTIVE or row.model is None:
        return None
    return Endpoint(row.model, row.base_url, _decrypt(cipher, row.api_key_encrypted))


async def save_org_settings(
    session: AsyncSession,
    *,
    principal: Principal,
    cipher: CredentialCipher,
    outbound: OutboundPolicy,
    provider: LLMProviderKind,
    base_url: str | None,
    model: str | None,
    api_key: str | None | Literal[_Keep.KEY],
) -> EffectiveLLM:
    """Raises `OutboundURLForbidden` for a `base_url` that is obviously internal; a name that resolves to an
    internal address is refused when it is called (`LLMEndpointForbidden`)."""
    _require_admin(principal)
    if provider is LLMProviderKind.OPENAI and base_url is not None:
        _refuse_internal(outbound, base_url)
    repository = LLMSettingsRepository(session)
    stored = await repository.get_for_update(principal.org_id)
    encrypted: str | None
    if provider is LLMProviderKind.EXTRACTIVE:
        encrypted = None
    elif api_key is KEEP_KEY:
        encrypted = _kept_key(stored, base_url)
    else:
        encrypted = None if api_key is None else cipher.encrypt(api_key)
    saved = await repository.put(
        principal.org_id,
        provider=provider,
        base_url=base_url if provider is LLMProviderKind.OPENAI else None,
        model=model if provider is LLMProviderKind.OPENAI else None,
        api_key_encrypted=encrypted,
        updated_by=principal.member_id,
    )
    api_key_change = "none" if encrypted is None else "kept" if api_key is KEEP_KEY else "set"
    details = {
        "provider": saved.provider,
        "model": saved.model,
        "base_url": url_origin(saved.base_url),
        "api_key": api_key_change,
    }
    await audit(
        session,
        org_id=principal.org_id,
        action=AuditAction.LLM_SETTINGS_UPDATED,
        actor=principal,
        target_type="llm_settings",
        details=details,
    )
    return _of_org(saved)


async def remove_org_settings(session: AsyncSession, *, principal: Principal) -> None:
    """Back to the server's settings; the stored key is deleted with the row."""
    _require_admin(principal)
    await LLMSettingsRepository(session).delete(principal.org_id)
    await audit(
        session,
        org_id=principal.org_id,
        action=AuditAction.LLM_SETTINGS_REMOVED,
        actor=principal,
        target_type="llm_settings",
    )


def _of_org(row: OrgLLMSettings) -> EffectiveLLM:
    return EffectiveLLM(
        provider=row.provider,
        model=row.model,
        base_url=row.base_url,
        source="org",
        api_key_set=row.api_key_encrypted is not None,
        updated_at=row.updated_at,
    )


def _refuse_internal(outbound: OutboundPolicy, base_url: str) -> None:
    refusal = outbound.url_refusal(base_url)
    if refusal is not None:
        raise OutboundURLForbidden(
            f"base_url is not allowed: {refusal}. A server whose operator set FOLIO_OUTBOUND__ALLOW_PRIVATE may "
            "call models on its own network.",
            details={"errors": [{"loc": ["body", "base_url"], "message": refusal, "type": "outbound_forbidden"}]},
        )


def _kept_key(stored: OrgLLMSettings | None, base_url: str | None) -> str | None:
    if stored is None or stored.api_key_encrypted is None:
        return None
    if stored.provider is not LLMProviderKind.OPENAI or stored.base_url != base_url:
        # Otherwise an admin could send the key someone else stored to an address of their choosing.
        raise ValidationFailed(
            "base_url changed: send api_key again (or null for none), the stored key is not sent to a new address.",
            details={
                "errors": [{"loc": ["body", "api_key"], "message": "required when base_url changes", "type": "missing"}]
            },
        )
    return stored.api_key_encrypted


def _decrypt(cipher: CredentialCipher, token: str | None) -> str:
    if token is None:
        return ""
    try:
        return cipher.decrypt(token)
    except CredentialUnreadable as exc:
        raise LLMCredentialsUnreadable() from exc


def _require_admin(principal: Principal) -> None:
    if not principal.has(Scope.ADMIN):
        raise Forbidden("Only owners and admins can change the organization's language model.")
