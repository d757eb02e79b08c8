"""No secret of a sign-in (the client secret, the provider's code and tokens, the ID token, the PKCE verifier, the
state, Folio's one-time code and link ticket) appears in a log line, nor one of the provider's in a response."""

from __future__ import annotations

import logging
from collections.abc import Iterator, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from folio.auth import service as auth_service
from folio.auth.sso import oidc
from folio.auth.sso import service as sso_service
from folio.observability import middleware
from tests.auth.sso.conftest import RETURN_URL, SSO, to_provider
from tests.auth.sso.fake_provider import CLIENT_SECRET, FakeProvider
from tests.factories import PASSWORD, register


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[MutableMapping[str, Any]]]:
    """What the sign-in's modules log; their loggers are bound again inside the capture (they may be cached)."""
    with capture_logs() as captured:
        for module in (oidc, sso_service, auth_service, middleware):
            monkeypatch.setattr(module, "log", structlog.get_logger(module.__name__))
        yield captured


async def test_no_secret_is_logged_or_answered(
    browser: httpx.AsyncClient,
    fake: FakeProvider,
    logs: list[MutableMapping[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = [CLIENT_SECRET, PASSWORD]
    answers: list[httpx.Response] = []

    callback = await to_provider(browser, return_to=RETURN_URL)
    secrets += [value for values in parse_qs(urlsplit(callback).query).values() for value in values]
    answers.append(await browser.get(callback))
    code = parse_qs(urlsplit(answers[-1].headers["location"]).query)["sso_code"][0]
    answers.append(await browser.post(f"{SSO}/exchange", json={"code": code}))
    secrets += [code, answers[-1].json()["access_token"], answers[-1].json()["refresh_token"]]

    await register(browser, email="grace@example.com")
    fake.person = {"sub": "grace-1", "email": "grace@example.com", "email_verified": True}
    answers.append(await browser.get(await to_provider(browser)))
    ticket = answers[-1].json()["link_ticket"]
    answers.append(await browser.post(f"{SSO}/link", json={"ticket": ticket, "password": "a wrong one, surely"}))
    secrets += [ticket, "a wrong one, surely"]

    fake.overrides = {"aud": "another-client"}
    answers.append(await browser.get(await to_provider(browser)))
    assert answers[-1].status_code == 400

    secrets += fake.issued + [request["code_verifier"] for request in fake.token_requests]
    assert len(fake.token_requests) == 3
    # The app's own records: the test's clients (httpx, httpcore) log the URLs they are sent to, codes included.
    app_records = [record for record in caplog.records if record.name.split(".")[0] not in {"httpx", "httpcore"}]
    assert any(record.name == "httpx2" for record in app_records)
    logged = "\n".join([repr(logs), *(f"{record.getMessage()} {record.__dict__}" for record in app_records)])
    assert "sso_sign_in_failed" in logged
    for secret in secrets:
        assert secret not in logged
    provider_secrets = [CLIENT_SECRET, *fake.issued, *(request["code_verifier"] for request in fake.token_requests)]
    for answer in answers:
        shown = answer.text + repr(answer.headers)
        for secret in provider_secrets:
            assert secret not in shown
