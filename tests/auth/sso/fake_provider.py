"""A stand-in for an OpenID Connect provider (Google, Keycloak…): a real HTTP server on localhost with its own RSA
key, speaking the protocol: discovery document, JWKS, an authorization endpoint that consents at once for
`person`, and a token endpoint that checks the client's credentials, the code (single use), the redirect URI and
the PKCE verifier before it hands out a signed ID token.

Tests bend the next ID token through `overrides` (a claim's value, or None to leave it out), `sign_with` (another
key under the same key id) or `replay` (an ID token handed out earlier)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "folio-test-client"
CLIENT_SECRET = "fake-client-secret-5vQ9xL2"
KEY_ID = "fake-key-1"


def _new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"})


@dataclass
class FakeProvider:
    base_url: str = ""
    key: RSAKey = field(default_factory=_new_key)
    person: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    sign_with: RSAKey | None = None
    replay: str | None = None
    # Everything secret it handed out or was sent (codes, tokens), for the tests that look for leaks.
    issued: list[str] = field(default_factory=list)
    id_tokens: list[str] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def reset(self) -> None:
        self.person = {"sub": "ada-1", "email": "ada@example.com", "email_verified": True, "name": "Ada Lovelace"}
        self.overrides, self.sign_with, self.replay = {}, None, None
        self.issued.clear()
        self.id_tokens.clear()
        self.token_requests.clear()
        self._codes.clear()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    async def discovery(self, request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": self.base_url,
                "authorization_endpoint": f"{self.base_url}/authorize",
                "token_endpoint": f"{self.base_url}/token",
                "jwks_uri": f"{self.base_url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return JSONResponse({"error": "unauthorized_client"}, status_code=400)
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(24)
        self.issued.append(code)
        self._codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "nonce": query["nonce"],
            "challenge": query["code_challenge"],
            "scope": query.get("scope", ""),
        }
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}")

    async def token(self, request: Request) -> JSONResponse:
        form = {key: str(value) for key, value in (await request.form()).items()}
        self.token_requests.append(form)
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self._codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=").decode()
        if form.get("redirect_uri") != grant["redirect_uri"] or challenge != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        access_token = secrets.token_urlsafe(24)
        id_token = self.replay or self._id_token(grant["nonce"])
        self.issued += [access_token, id_token]
        self.id_tokens.append(id_token)
        return JSONResponse(
            {"access_token": access_token, "token_type": "Bearer", "expires_in": 3600, "id_token": id_token}
        )

    def _id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims = {
            "iss": self.base_url,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            **self.person,
            **self.overrides,
        }
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, self.sign_with or self.key)


def main() -> None:
    """Serve the stand-in on its own, to try signing in by hand (it consents at once, as `--email`)."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="A stand-in OpenID Connect provider, to try Folio's sign-in.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8792)
    parser.add_argument("--email", default="ada@example.com")
    options = parser.parse_args()
    fake = FakeProvider(base_url=f"http://{options.host}:{options.port}")
    fake.reset()
    fake.person |= {"email": options.email, "sub": options.email}
    provider = {"name": "fake", "issuer": fake.base_url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    print(f"OpenID Connect stand-in at {fake.base_url}; FOLIO_SSO__PROVIDERS='[{json.dumps(provider)}]'")  # noqa: T201
    uvicorn.run(fake.app(), host=options.host, port=options.port, log_level="warning")


if __name__ == "__main__":
    main()
