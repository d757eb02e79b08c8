"""Re-encrypting every stored credential under the first of FOLIO_ENCRYPTION_KEYS: organizations' model API keys,
webhook signing secrets, integrations' tokens. How a key is retired: put the new key first, run `folio
rotate-credentials`, then drop the old key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.llm.crypto import CredentialCipher, CredentialUnreadable
from folio.models import Integration, OrgLLMSettings, WebhookEndpoint

# Every column holding a Fernet token, by table.
ENCRYPTED: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (OrgLLMSettings, ("api_key_encrypted",)),
    (WebhookEndpoint, ("secret_encrypted", "previous_secret_encrypted")),
    (Integration, ("credentials_encrypted",)),
)


@dataclass
class Rotated:
    rotated: int = 0
    # Values no configured key decrypts (written under a key already dropped): left as they are.
    unreadable: list[str] = field(default_factory=list)


async def rotate_credentials(session: AsyncSession, cipher: CredentialCipher) -> Rotated:
    """Every token re-encrypted in the caller's transaction, each table's rows locked meanwhile."""
    outcome = Rotated()
    for model, columns in ENCRYPTED:
        for row in (await session.scalars(select(model).with_for_update())).all():
            for column in columns:
                token = getattr(row, column)
                if token is None:
                    continue
                try:
                    setattr(row, column, cipher.rotate(token))
                except CredentialUnreadable:
                    outcome.unreadable.append(f"{model.__tablename__}.{column} of {row.id}")
                    continue
                outcome.rotated += 1
    await session.flush()
    return outcome
