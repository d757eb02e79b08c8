"""Every check of a sign-in, each refused on its own: the state, the flow's age and browser, the ID token's
signature and claims, the nonce, the email's verification, and where the browser may return to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import RSAKey

from folio.auth.sso import service
from tests.auth.sso.conftest import CONSOLE_URL, RETURN_URL, SSO, sign_in, to_provider
from tests.auth.sso.fake_provider import KEY_ID, FakeProvider
from tests.factories import error_of


def reason(response: httpx.Response, status: int, code: str) -> str | None:
    found: str | None = error_of(response, status, code)["details"].get("reason")
    return found


async def test_a_used_state_is_refused(browser: httpx.AsyncClient) -> None:
    callback = await to_provider(browser)
    assert (await browser.get(callback)).status_code == 200
    assert reason(await browser.get(callback), 400, "SSO_STATE_INVALID") == "used"


async def test_an_unknown_or_missing_state_is_refused(browser: httpx.AsyncClient) -> None:
    callback = await to_provider(browser)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    forged = await browser.get(f"{SSO}/fake/callback", params={"code": code, "state": "x" * 48})
    assert reason(forged, 400, "SSO_STATE_INVALID") == "unknown"
    assert reason(await browser.get(f"{SSO}/fake/callback", params={"code": code}), 400, "SSO_STATE_INVALID")


async def test_a_state_is_refused_at_another_providers_callback(browser: httpx.AsyncClient) -> None:
    callback = await to_provider(browser)
    elsewhere = callback.replace("/fake/callback", "/other/callback")
    assert reason(await browser.get(elsewhere), 400, "SSO_STATE_INVALID") == "unknown"


async def test_a_callback_in_another_browser_is_refused(browser: httpx.AsyncClient, sso_app: FastAPI) -> None:
    callback = await to_provider(browser)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sso_app), base_url="http://testserver") as other:
        assert reason(await other.get(callback), 400, "SSO_STATE_INVALID") == "browser"
    # The state is spent by that attempt.
    assert reason(await browser.get(callback), 400, "SSO_STATE_INVALID") == "used"


async def test_an_expired_flow_is_refused(browser: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> None:
    callback = await to_provider(browser)
    monkeypatch.setattr(service, "now", lambda: datetime.now(UTC) + timedelta(minutes=11))
    error_of(await browser.get(callback), 400, "SSO_FLOW_EXPIRED")


async def test_the_providers_own_refusal_is_reported_by_its_code_only(browser: httpx.AsyncClient) -> None:
    callback = await to_provider(browser)
    state = parse_qs(urlsplit(callback).query)["state"][0]
    denied = await browser.get(
        f"{SSO}/fake/callback",
        params={"state": state, "error": "access_denied", "error_description": "<script>alert(1)</script>"},
    )
    assert reason(denied, 400, "SSO_PROVIDER_DENIED") == "access_denied"
    assert "script" not in denied.text


@pytest.mark.parametrize(
    ("overrides", "claim"),
    [
        ({"aud": "another-client"}, "aud"),
        ({"aud": ["another-client", "a-third"]}, "aud"),
        ({"iss": "https://accounts.example.org"}, "iss"),
        ({"exp": int(datetime.now(UTC).timestamp()) - 3600, "iat": int(datetime.now(UTC).timestamp()) - 7200}, "exp"),
        ({"iat": int(datetime.now(UTC).timestamp()) + 3600, "exp": int(datetime.now(UTC).timestamp()) + 7200}, "iat"),
        ({"nonce": "a-nonce-of-another-sign-in"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"sub": None}, "sub"),
    ],
)
async def test_an_id_token_with_a_wrong_claim_is_refused(
    browser: httpx.AsyncClient, fake: FakeProvider, overrides: dict[str, object], claim: str
) -> None:
    fake.overrides = overrides
    assert reason(await sign_in(browser), 400, "SSO_ID_TOKEN_INVALID") == claim


async def test_an_id_token_signed_with_another_key_is_refused(browser: httpx.AsyncClient, fake: FakeProvider) -> None:
    fake.sign_with = RSAKey.generate_key(2048, parameters={"kid": KEY_ID})
    assert reason(await sign_in(browser), 400, "SSO_ID_TOKEN_INVALID") == "signature"


async def test_an_id_token_of_an_unknown_key_is_refused(browser: httpx.AsyncClient, fake: FakeProvider) -> None:
    fake.sign_with = RSAKey.generate_key(2048, parameters={"kid": "someone-elses"})
    assert reason(await sign_in(browser), 400, "SSO_ID_TOKEN_INVALID") == "signature"


async def test_an_id_token_of_an_earlier_sign_in_is_refused(browser: httpx.AsyncClient, fake: FakeProvider) -> None:
    assert (await sign_in(browser)).status_code == 200
    fake.replay = fake.id_tokens[-1]
    assert reason(await sign_in(browser), 400, "SSO_ID_TOKEN_INVALID") == "nonce"


@pytest.mark.parametrize("verified", [False, "true", None])
async def test_an_unverified_email_is_refused(
    browser: httpx.AsyncClient, fake: FakeProvider, sso_app: FastAPI, verified: object
) -> None:
    fake.overrides = {"email_verified": verified}
    error_of(await sign_in(browser), 403, "SSO_EMAIL_UNVERIFIED")


async def test_a_missing_email_is_refused(browser: httpx.AsyncClient, fake: FakeProvider) -> None:
    fake.overrides = {"email": None}
    error_of(await sign_in(browser), 403, "SSO_EMAIL_UNVERIFIED")


@pytest.mark.parametrize(
    "return_to",
    [
        "https://evil.example.com/auth/",
        "http://app.example.com/auth/",
        "https://app.example.com:8443/auth/",
        "https://app.example.com/authx",
        CONSOLE_URL + "s",
        "https://console.example.com/",
        "https://app.example.com/",
        "https://app.example.com/auth/../admin",
        "https://app.example.com/auth/%2e%2e/admin",
        "https://app.example.com/auth/..%2fadmin",
        "https://app.example.com\\@evil.example.com/auth/",
        "https://user@app.example.com/auth/",
        "//evil.example.com/auth/",
        "javascript:alert(1)//app.example.com/auth/",
    ],
)
async def test_a_return_to_outside_the_allowed_urls_is_refused(browser: httpx.AsyncClient, return_to: str) -> None:
    response = await browser.get(f"{SSO}/fake/start", params={"return_to": return_to})
    error_of(response, 422, "SSO_RETURN_URL_NOT_ALLOWED")


@pytest.mark.parametrize(
    "return_to",
    [RETURN_URL, RETURN_URL + "done", "https://APP.example.com:443/auth/x?y=1", CONSOLE_URL, CONSOLE_URL + "/x"],
)
async def test_a_return_to_under_an_allowed_url_is_accepted(browser: httpx.AsyncClient, return_to: str) -> None:
    assert (await browser.get(f"{SSO}/fake/start", params={"return_to": return_to})).status_code == 302


async def test_with_return_to_a_failure_sends_the_browser_back_with_its_code(
    browser: httpx.AsyncClient, fake: FakeProvider
) -> None:
    fake.overrides = {"aud": "another-client"}
    response = await sign_in(browser, return_to=RETURN_URL)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(RETURN_URL)
    assert parse_qs(urlsplit(location).query) == {"sso_error": ["SSO_ID_TOKEN_INVALID"]}


async def test_a_provider_that_cannot_be_reached_is_unavailable(browser: httpx.AsyncClient) -> None:
    response = await browser.get(f"{SSO}/down/start")
    assert reason(response, 502, "SSO_PROVIDER_UNAVAILABLE") == "discovery"
