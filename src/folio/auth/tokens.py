"""Access tokens (short-lived JWTs), opaque refresh tokens and API key secrets."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import jwt

from folio.auth.errors import AuthExpired, AuthInvalid
from folio.settings import AuthSettings

# Fixed server-side: the token's own `alg` header is never trusted (no `none`, no HS/RS confusion).
ALGORITHM = "HS256"
ACCESS_TYPE = "access"
_REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub", "jti", "typ", "sid"]

REFRESH_TOKEN_PREFIX = "frt_"  # noqa: S105
API_KEY_PREFIX = "folio_"
API_KEY_DISPLAY_LENGTH = len(API_KEY_PREFIX) + 8


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: UUID
    session_id: UUID
    org_id: UUID | None
    jti: str
    expires_at: float  # Unix seconds


class AccessTokens:
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._key = settings.jwt_secret.get_secret_value()

    @property
    def lifetime_seconds(self) -> int:
        return int(self.settings.access_token_ttl.total_seconds())

    def issue(self, *, user_id: UUID, session_id: UUID, org_id: UUID | None) -> str:
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": str(user_id),
            "sid": str(session_id),
            "iat": now,
            "exp": now + self.settings.access_token_ttl,
            "jti": secrets.token_urlsafe(16),
            "typ": ACCESS_TYPE,
        }
        if org_id is not None:
            claims["org"] = str(org_id)
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def decode(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthExpired() from exc
        except jwt.PyJWTError as exc:
            raise AuthInvalid() from exc
        if claims["typ"] != ACCESS_TYPE:
            raise AuthInvalid("This token is not an access token.")
        try:
            return AccessClaims(
                user_id=UUID(claims["sub"]),
                session_id=UUID(claims["sid"]),
                org_id=UUID(claims["org"]) if "org" in claims else None,
                jti=str(claims["jti"]),
                expires_at=float(claims["exp"]),
            )
        except (TypeError, ValueError) as exc:
            raise AuthInvalid() from exc


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key_secret() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def is_api_key(credential: str) -> bool:
    return credential.startswith(API_KEY_PREFIX)


def secret_digest(secret: str) -> str:
    """SHA-256 is enough for 256-bit random secrets (no dictionary to attack) and lets lookups use an index."""
    return hashlib.sha256(secret.encode()).hexdigest()
