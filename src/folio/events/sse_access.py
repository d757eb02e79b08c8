"""A live stream outlives the check of its credential when it opened. Now and then it checks again, in a short
transaction of its own: a revoked API key, a removed member, a revoked session, an expired token or a changed role
ends the stream. The client reconnects with `Last-Event-ID` and is authenticated afresh, with its new rights."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.auth.deps import principal_for
from folio.auth.principal import Principal
from folio.auth.tokens import AccessTokens
from folio.errors import FolioError

log = structlog.get_logger(__name__)

# Seconds between two checks of a stream's credential: a revoked key or a removed member reads no more than this.
RECHECK_SECONDS = 60.0


@dataclass
class Access:
    """The credential a stream was opened with, and the principal it gave then."""

    sessionmaker: async_sessionmaker[AsyncSession]
    tokens: AccessTokens
    credential: str
    principal: Principal
    checked_at: float = field(default_factory=time.monotonic)

    async def lost(self) -> bool:
        """Whether the credential no longer gives the same access (checked at most every RECHECK_SECONDS)."""
        if time.monotonic() - self.checked_at < RECHECK_SECONDS:
            return False
        self.checked_at = time.monotonic()
        try:
            current = await principal_for(
                self.sessionmaker, self.tokens, credential=self.credential, org_id=self.principal.org_id
            )
        except FolioError:
            return True
        except Exception:
            # Unverifiable is not allowed: the stream ends, and the client's reconnection is checked in full.
            log.warning("event_stream_recheck_failed", exc_info=True)
            return True
        # Role and units too: a member moved out of a business unit stops receiving its cases' events.
        return (current.org_id, current.scopes, current.role, current.units) != (
            self.principal.org_id,
            self.principal.scopes,
            self.principal.role,
            self.principal.units,
        )
