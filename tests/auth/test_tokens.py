"""Attacks on access tokens: every forged, altered or misused JWT is refused with 401.

Tokens are forged from the claims of a real one, changing one thing per test; the control test shows that a
token forged with the right secret and claims is accepted, so each refusal is down to the one change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

import httpx
import jwt
import jwt.api_jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from folio.auth.tokens import REFRESH_TOKEN_PREFIX, new_refresh_token
from tests.conftest import TEST_JWT_SECRET
from tests.factories import Account, error_of, register

ME = "/api/v1/auth/me"
ACCESS_LIFETIME = 15 * 60
URL_SAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]+")


def claims_of(account: Account) -> dict[str, Any]:
    """The claims of the account's real access token, with a fresh jti and lifetime."""
    claims: dict[str, Any] = jwt.decode(account.access_token, options={"verify_signature": False})
    now = int(time.time())
    claims.update(jti=secrets.token_urlsafe(16), iat=now, exp=now + 600)
    return claims


def forge(claims: dict[str, Any], *, key: str = TEST_JWT_SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A JWS in compact form, built by hand so any header and signature can be sent."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get(ME, headers={"Authorization": f"Bearer {token}"})


def assert_rejected(response: httpx.Response, code: str = "AUTH_INVALID") -> None:
    error_of(response, 401, code)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "user" not in response.json()


# --- tests ------------------------------------------------------------------------------------------------------


async def test_the_real_token_carries_the_expected_claims(client: httpx.AsyncClient) -> None:
    account = await register(client)

    header = jwt.get_unverified_header(account.access_token)
    claims = jwt.decode(account.access_token, options={"verify_signature": False})

    assert header["alg"] == "HS256"
    assert claims["iss"] == "folio"
    assert claims["aud"] == "folio-api"
    assert claims["sub"] == str(account.user_id)
    assert claims["org"] == str(account.org_id)
    assert claims["typ"] == "access"
    assert claims["sid"]
    assert claims["jti"]
    assert claims["exp"] - claims["iat"] == 15 * 60
    # It verifies with the server's secret.
    jwt.decode(account.access_token, TEST_JWT_SECRET, algorithms=["HS256"], audience="folio-api", issuer="folio")


async def test_control_a_token_forged_with_the_right_secret_and_claims_is_accepted(
    client: httpx.AsyncClient,
) -> None:
    account = await register(client)

    response = await me(client, forge(claims_of(account)))

    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == str(account.user_id)
    assert response.json()["org"]["id"] == str(account.org_id)


async def test_alg_none_is_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)
    claims = claims_of(account)

    for alg in ("none", "None", "NONE"):
        token = compact({"alg": alg, "typ": "JWT"}, claims, lambda _: b"")
        assert token.endswith(".")

        assert_rejected(await me(client, token))


async def test_signature_from_the_wrong_secret_is_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)

    token = forge(claims_of(account), key="another-secret-that-is-long-enough-" + "x" * 20)

    assert_rejected(await me(client, token))


async def test_tampered_signature_is_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)
    header, payload, signature = account.access_token.split(".")
    flipped = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    flipped[0] ^= 0x01

    assert_rejected(await me(client, f"{header}.{payload}.{_b64(bytes(flipped))}"))


async def test_payload_modified_after_signing_is_rejected(client: httpx.AsyncClient) -> None:
    victim = await register(client)
    attacker = await register(client)
    header, _, signature = attacker.access_token.split(".")
    # Keep the attacker's valid signature but swap in a payload naming the victim's org.
    claims = jwt.decode(attacker.access_token, options={"verify_signature": False})
    claims["org"] = str(victim.org_id)
    payload = _b64(json.dumps(claims).encode())

    assert_rejected(await me(client, f"{header}.{payload}.{signature}"))


async def test_rs256_token_signed_with_a_fresh_rsa_key_is_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = forge(claims_of(account), key=key, algorithm="RS256")  # type: ignore[arg-type]
    # The token is a genuine RS256 token: it verifies with the attacker's public key.
    assert jwt.decode(token, key.public_key(), algorithms=["RS256"], options={"verify_aud": False})

    assert_rejected(await me(client, token))


async def test_hs_rs_confusion_header_says_rs256_but_hmac_signed_is_rejected(client: httpx.AsyncClient) -> None:
    """The header's alg is never trusted: a token labelled RS256 is refused even with a valid HS256 MAC."""
    account = await register(client)

    def mac(data: bytes) -> bytes:
        return hmac.new(TEST_JWT_SECRET.encode(), data, hashlib.sha256).digest()

    assert_rejected(await me(client, compact({"alg": "RS256", "typ": "JWT"}, claims_of(account), mac)))
    # The same MAC under the honest header is accepted, so only the alg label was refused.
    accepted = await me(client, compact({"alg": "HS256", "typ": "JWT"}, claims_of(account), mac))
    assert accepted.status_code == 200, accepted.text


async def test_right_secret_with_hs512_is_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)

    def mac(data: bytes) -> bytes:
        return hmac.new(TEST_JWT_SECRET.encode(), data, hashlib.sha512).digest()

    token = compact({"alg": "HS512", "typ": "JWT"}, claims_of(account), mac)
    # PyJWT itself accepts the token when HS512 is allowed, so it is well formed and correctly signed.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)  # the test secret is under 64 bytes
        jwt.decode(token, TEST_JWT_SECRET, algorithms=["HS512"], audience="folio-api", issuer="folio")

    assert_rejected(await me(client, token))


async def test_expired_token_is_auth_expired(client: httpx.AsyncClient) -> None:
    account = await register(client)
    claims = claims_of(account)
    claims.update(iat=int(time.time()) - 3600, exp=int(time.time()) - 600)

    response = await me(client, forge(claims))

    assert_rejected(response, "AUTH_EXPIRED")
    assert 'error_description="expired"' in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize("claim", ["exp", "sub", "sid", "jti", "typ", "iss", "aud", "iat"])
async def test_token_missing_a_required_claim_is_invalid(client: httpx.AsyncClient, claim: str) -> None:
    account = await register(client)
    claims = claims_of(account)
    del claims[claim]

    assert_rejected(await me(client, forge(claims)))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("aud", "another-api"),
        ("aud", ["another-api"]),
        ("iss", "not-folio"),
        ("typ", "refresh"),
        ("typ", "Access"),
        ("sub", "not-a-uuid"),
        ("sid", "00000000-0000-0000-0000-000000000000"),
        ("nbf", 4102444800),  # not valid before 2100
        ("iat", "yesterday"),
    ],
)
async def test_token_with_a_wrong_claim_is_invalid(client: httpx.AsyncClient, claim: str, value: object) -> None:
    account = await register(client)
    claims = claims_of(account)
    claims[claim] = value

    assert_rejected(await me(client, forge(claims)))


async def test_token_for_another_users_session_is_invalid(client: httpx.AsyncClient) -> None:
    first = await register(client)
    second = await register(client)
    # A validly signed token pairing one user with another user's session.
    claims = claims_of(first)
    claims["sid"] = claims_of(second)["sid"]

    assert_rejected(await me(client, forge(claims)))


async def test_token_naming_an_org_the_user_is_not_in_is_refused(client: httpx.AsyncClient) -> None:
    victim = await register(client)
    attacker = await register(client)
    claims = claims_of(attacker)
    claims["org"] = str(victim.org_id)

    response = await me(client, forge(claims))

    error_of(response, 403, "ORG_ACCESS_DENIED")


async def test_refresh_token_used_as_an_access_token_is_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)
    assert account.refresh_token.startswith("frt_")

    assert_rejected(await me(client, account.refresh_token))


async def test_access_token_posted_to_refresh_is_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)

    response = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.access_token})

    assert_rejected(response)


async def test_garbage_bearer_values_are_rejected(client: httpx.AsyncClient) -> None:
    account = await register(client)
    header, payload, _ = account.access_token.split(".")

    for token in ("abc", "a.b.c", f"{header}.{payload}", f"{header}.{payload}.", "Bearer"):
        assert_rejected(await me(client, token))


# --- expiry at the second, on a clock the test controls ---------------------------------------------------------


def freeze_jwt_clock(monkeypatch: pytest.MonkeyPatch, instant: int) -> None:
    """Make PyJWT's "now" (`datetime.now` in `jwt.api_jwt`) the given epoch second, so `exp` is checked exactly.

    Patch only after the account exists: PyJWT's encoder tests `isinstance(value, datetime)` against the same name.
    """

    class FrozenDatetime(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> FrozenDatetime:
            return cls.fromtimestamp(instant, tz or UTC)

    monkeypatch.setattr(jwt.api_jwt, "datetime", FrozenDatetime)


def expiring_at(account: Account, exp: int) -> str:
    claims = claims_of(account)
    claims.update(iat=exp - ACCESS_LIFETIME, exp=exp)
    return forge(claims)


async def test_a_token_5_seconds_past_exp_is_auth_expired(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No leeway: the audit's mutant accepting tokens up to 540 s after `exp` passed the 10-minute-old token."""
    account = await register(client)
    now = int(time.time())
    freeze_jwt_clock(monkeypatch, now)

    just_before = await me(client, expiring_at(account, now + 5))
    at_exp = await me(client, expiring_at(account, now))
    just_after = await me(client, expiring_at(account, now - 5))

    assert just_before.status_code == 200, just_before.text
    assert just_before.json()["user"]["id"] == str(account.user_id)
    assert_rejected(at_exp, "AUTH_EXPIRED")  # RFC 7519: not accepted "on or after" exp
    assert_rejected(just_after, "AUTH_EXPIRED")
    assert 'error_description="expired"' in just_after.headers["WWW-Authenticate"]


# --- refresh tokens: as much randomness as API keys -------------------------------------------------------------


def refresh_randomness(token: str) -> bytes:
    """The random part of a refresh token, decoded; checks the prefix and the URL-safe alphabet on the way."""
    assert token.startswith(REFRESH_TOKEN_PREFIX), token
    randomness = token.removeprefix(REFRESH_TOKEN_PREFIX)
    assert URL_SAFE_BASE64.fullmatch(randomness), token
    assert len(randomness) >= 43
    return base64.urlsafe_b64decode(randomness + "=" * (-len(randomness) % 4))


async def test_refresh_tokens_issued_by_the_api_carry_256_random_bits(client: httpx.AsyncClient) -> None:
    account = await register(client)
    issued = [account.refresh_token]
    for _ in range(4):
        response = await client.post("/api/v1/auth/refresh", json={"refresh_token": issued[-1]})
        assert response.status_code == 200, response.text
        issued.append(response.json()["refresh_token"])

    assert all(len(refresh_randomness(token)) >= 32 for token in issued)
    assert len(set(issued)) == len(issued)


def test_refresh_tokens_never_repeat_and_use_the_whole_alphabet() -> None:
    tokens = [new_refresh_token() for _ in range(2000)]

    randomness = [refresh_randomness(token) for token in tokens]

    assert all(len(random) >= 32 for random in randomness)
    assert len(set(tokens)) == len(tokens)
    # 2000 tokens of 43 characters show every one of the 64 symbols (a hex or truncated source would not).
    assert set("".join(token.removeprefix(REFRESH_TOKEN_PREFIX) for token in tokens)) == set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    # Every byte value appears among the decoded bytes, so none of them is fixed or drawn from a narrow range.
    assert len(set(b"".join(randomness))) == 256
    # No two positions move together (a short random string repeated would): independent symbols agree in about
    # 1 token in 64, ~31 of 2000; 100 is more than ten standard deviations away.
    parts = [token.removeprefix(REFRESH_TOKEN_PREFIX) for token in tokens]
    width = min(len(part) for part in parts)
    for first, second in itertools.combinations(range(width), 2):
        assert sum(part[first] == part[second] for part in parts) < 100, (first, second)
