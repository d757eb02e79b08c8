from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin


class UserIdentity(IdMixin, CreatedAtMixin, Base):
    """A member's account at a sign-in provider (OpenID Connect): the provider's issuer and its stable `sub` for the
    person. Signing in through the provider finds the member by this pair, never by e-mail alone."""

    __tablename__ = "user_identities"
    __table_args__ = (
        UniqueConstraint("issuer", "subject"),
        Index("ix_user_identities_user_id", "user_id"),
    )

    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The configured provider's name (`FOLIO_SSO__PROVIDERS`), as the sign-in URLs spell it.
    provider: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    # The verified address the provider gave when the identity was linked.
    email: Mapped[str] = mapped_column(String(320))


class AuthFlow(IdMixin, CreatedAtMixin, Base):
    """A redirect to a provider that has not come back yet: an OpenID Connect sign-in (`purpose` "sign_in") or an
    OAuth connection of an integration ("connect"). Found by the hash of its `state`, used once, and only before it
    expires; it keeps the PKCE verifier and the nonce the answer must carry."""

    __tablename__ = "auth_flows"
    __table_args__ = (Index("ix_auth_flows_expires_at", "expires_at"),)

    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(64))
    # Who started it, when someone signed in did (linking an identity, connecting an integration).
    user_id: Mapped[UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    org_id: Mapped[UUID | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    nonce: Mapped[str | None] = mapped_column(String(128))
    code_verifier: Mapped[str | None] = mapped_column(String(128))
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    # Where the person's browser goes once the flow is done (an allowed front-end URL).
    return_to: Mapped[str | None] = mapped_column(String(2000))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
