"""OpenID Connect with authlib: the provider's discovery document and keys (cached per process), the authorization
URL with PKCE (S256), the code exchange, and the ID token's verification.

Providers are configured by the operator, not by tenants, so the tenant guard's refusal of private addresses is
off (an in-house Keycloak may be on one); its transport still caps every answer at `MAX_RESPONSE_BYTES`, refuses
cloud metadata addresses, follows no redirect and ignores environment proxies, and every call has `TIMEOUT`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx2
import structlog
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import ClaimError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from folio.auth.sso.errors import SsoIdTokenInvalid, SsoProviderDenied, SsoProviderUnavailable
from folio.outbound import GuardedTransport, OutboundPolicy, OutboundRefused, ResponseRefused
from folio.settings import SsoProvider

DISCOVERY_TTL_SECONDS = 3600.0
# A token signed with a key the cached set lacks (the provider rotated its keys) fetches the set again, at most
# this often, so forged key ids cannot make every callback fetch it.
KEYS_REFETCH_SECONDS = 60.0
TIMEOUT_SECONDS, CONNECT_TIMEOUT_SECONDS = 10.0, 5.0
MAX_RESPONSE_BYTES = 256 * 1024
# Clock skew allowed on exp and iat.
LEEWAY_SECONDS = 60
# Signatures by the provider's published keys only: never `none`, nor HS256 keyed by the client secret.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
# RFC 6749 §4.1.2.1 and OpenID Connect Core §3.1.2.6: a provider's other error codes are reported as "other".
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
        "invalid_grant",
        "invalid_client",
        "unsupported_grant_type",
    }
)

_POLICY = OutboundPolicy(
    allow_private=True,
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    timeout=TIMEOUT_SECONDS,
    max_response_bytes=MAX_RESPONSE_BYTES,
)
_TRANSPORT_ERRORS = (httpx2.HTTPError, OutboundRefused, ResponseRefused, ValueError)

log = structlog.get_logger(__name__)


def _http_options() -> dict[str, Any]:
    """What `folio.outbound.guarded_client` gives its clients, for authlib's client too."""
    return {
        "transport": GuardedTransport(_POLICY),
        "timeout": httpx2.Timeout(TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
        "follow_redirects": False,
        "trust_env": False,
    }


def oauth_error(code: str | None) -> str:
    return code if code in OAUTH_ERRORS else "other"


@dataclass
class Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: list[str]
    token_auth_method: str
    fetched_at: float
    keys: dict[str, Any] | None = None
    keys_fetched_at: float = 0.0


@dataclass(frozen=True, slots=True)
class VerifiedClaims:
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


@dataclass
class Discovery:
    """Discovery documents and key sets by issuer, for `DISCOVERY_TTL_SECONDS` (one per process)."""

    clock: Any = time.monotonic
    _cache: dict[str, Metadata] = field(default_factory=dict)

    async def metadata(self, provider: SsoProvider) -> Metadata:
        cached = self._cache.get(provider.issuer)
        if cached is not None and self.clock() - cached.fetched_at < DISCOVERY_TTL_SECONDS:
            return cached
        document = await _get_json(provider, provider.issuer.rstrip("/") + "/.well-known/openid-configuration")
        # OpenID Connect Discovery §4.3: the document must name the very issuer it was fetched for.
        if document.get("issuer") != provider.issuer:
            raise SsoProviderUnavailable(reason="discovery_issuer_mismatch")
        endpoints = {name: document.get(name) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")}
        if not all(isinstance(url, str) and url for url in endpoints.values()):
            raise SsoProviderUnavailable(reason="discovery_incomplete")
        offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
        methods = document.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        metadata = Metadata(
            authorization_endpoint=str(endpoints["authorization_endpoint"]),
            token_endpoint=str(endpoints["token_endpoint"]),
            jwks_uri=str(endpoints["jwks_uri"]),
            algorithms=[alg for alg in ASYMMETRIC_ALGORITHMS if alg in offered],
            token_auth_method="client_secret_basic" if "client_secret_basic" in methods else "client_secret_post",
            fetched_at=self.clock(),
        )
        self._cache[provider.issuer] = metadata
        return metadata

    async def keys(self, provider: SsoProvider, metadata: Metadata, *, refresh: bool = False) -> KeySet:
        stale = metadata.keys is None or self.clock() - metadata.keys_fetched_at >= DISCOVERY_TTL_SECONDS
        may_refetch = self.clock() - metadata.keys_fetched_at >= KEYS_REFETCH_SECONDS
        if stale or (refresh and may_refetch):
            metadata.keys = await _get_json(provider, metadata.jwks_uri)
            metadata.keys_fetched_at = self.clock()
        try:
            return KeySet.import_key_set(metadata.keys)  # type: ignore[arg-type]
        except (JoseError, KeyError, TypeError, ValueError) as exc:
            raise SsoProviderUnavailable(reason="keys_invalid") from exc


DISCOVERY = Discovery()


def new_secret() -> str:
    """A state, nonce or PKCE verifier: 48 characters from [A-Za-z0-9], about 285 bits."""
    token: str = generate_token(48)
    return token


def _client(provider: SsoProvider, metadata: Metadata, redirect_uri: str) -> Any:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=provider.client_secret.get_secret_value(),
        token_endpoint_auth_method=metadata.token_auth_method,
        code_challenge_method="S256",
        scope=" ".join(provider.scopes),
        redirect_uri=redirect_uri,
        **_http_options(),
    )


async def authorization_url(
    provider: SsoProvider, *, redirect_uri: str, state: str, nonce: str, code_verifier: str
) -> str:
    metadata = await DISCOVERY.metadata(provider)
    client = _client(provider, metadata, redirect_uri)
    async with client:
        url, _ = client.create_authorization_url(
            metadata.authorization_endpoint, state=state, code_verifier=code_verifier, nonce=nonce
        )
    return str(url)


async def exchange_code(
    provider: SsoProvider, *, code: str, redirect_uri: str, code_verifier: str, nonce: str
) -> VerifiedClaims:
    """The code exchanged at the token endpoint (with the PKCE verifier), and the ID token in the answer verified."""
    metadata = await DISCOVERY.metadata(provider)
    try:
        async with _client(provider, metadata, redirect_uri) as client:
            token = await client.fetch_token(
                metadata.token_endpoint, grant_type="authorization_code", code=code, code_verifier=code_verifier
            )
    except OAuthError as exc:
        raise SsoProviderDenied(reason=oauth_error(exc.error)) from None
    except _TRANSPORT_ERRORS as exc:
        # The class only: a provider's error text may quote what it was sent.
        log.warning("sso_provider_failed", provider=provider.name, step="token", error=type(exc).__name__)
        raise SsoProviderUnavailable(reason="token_endpoint") from None
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise SsoProviderUnavailable(reason="no_id_token")
    return await _verify(provider, metadata, id_token, nonce=nonce, access_token=token.get("access_token"))


async def _verify(
    provider: SsoProvider, metadata: Metadata, id_token: str, *, nonce: str, access_token: Any
) -> VerifiedClaims:
    registry = JWSRegistry(algorithms=metadata.algorithms)
    try:
        try:
            decoded = jwt.decode(id_token, await DISCOVERY.keys(provider, metadata), registry=registry)
        except InvalidKeyIdError:
            decoded = jwt.decode(id_token, await DISCOVERY.keys(provider, metadata, refresh=True), registry=registry)
        options = {
            "iss": {"essential": True, "value": provider.issuer},
            "aud": {"essential": True, "value": provider.client_id},
            "sub": {"essential": True},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }
        # authlib checks the nonce (present and equal) and `at_hash` against these.
        params = {"nonce": nonce, "client_id": provider.client_id, "access_token": access_token}
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        claims.validate(leeway=LEEWAY_SECONDS)
    except ClaimError as exc:
        raise SsoIdTokenInvalid(reason=exc.claim) from None
    except (JoseError, ValueError):
        raise SsoIdTokenInvalid(reason="signature") from None
    email = claims.get("email")
    name = claims.get("name")
    return VerifiedClaims(
        issuer=provider.issuer,
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) else None,
        email_verified=claims.get("email_verified") is True,
        name=name if isinstance(name, str) else None,
    )


async def _get_json(provider: SsoProvider, url: str) -> dict[str, Any]:
    """A discovery document or a key set (public documents)."""
    try:
        async with httpx2.AsyncClient(**_http_options()) as http:
            response = await http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
    except _TRANSPORT_ERRORS as exc:
        log.warning("sso_provider_failed", provider=provider.name, step="discovery", error=type(exc).__name__)
        raise SsoProviderUnavailable(reason="discovery") from None
    if not isinstance(document, dict):
        raise SsoProviderUnavailable(reason="discovery")
    return document
