"""What an organization may configure for Confluence, and the credentials' header."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from folio.integrations.connectors.confluence import ConfluenceConfig, ConfluenceCredentials


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://acme.atlassian.net", "https://acme.atlassian.net"),
        (" https://Acme.atlassian.net/wiki/ ", "https://acme.atlassian.net"),
        ("https://wiki.example.com:8443", "https://wiki.example.com:8443"),
        ("http://127.0.0.1:8790", "http://127.0.0.1:8790"),
    ],
)
def test_the_site_url_is_kept_as_its_origin(given: str, kept: str) -> None:
    assert ConfluenceConfig(site_url=given).site_url == kept


@pytest.mark.parametrize(
    "site_url",
    [
        "http://acme.atlassian.net",
        "http://10.0.0.1",
        "https://acme.atlassian.net/spaces/ENG",
        "https://localhost",
        "acme.atlassian.net",
    ]
    + ["https://user@acme.atlassian.net", "https://acme.atlassian.net?x=1", "https://" + "a" * 200 + ".net"],
)
def test_a_site_url_that_is_not_an_https_origin_is_refused(site_url: str) -> None:
    with pytest.raises(ValidationError):
        ConfluenceConfig(site_url=site_url)


def test_space_keys_are_bounded_checked_and_deduplicated() -> None:
    config = ConfluenceConfig(site_url="https://acme.atlassian.net", space_keys=["ENG", "~557058:ab-12", "ENG"])
    assert config.space_keys == ["ENG", "~557058:ab-12"]
    assert config.include_attachments is True
    for keys in (["EN G"], ["A,B"], [f"K{number}" for number in range(101)]):
        with pytest.raises(ValidationError):
            ConfluenceConfig(site_url="https://acme.atlassian.net", space_keys=keys)
    with pytest.raises(ValidationError):
        ConfluenceConfig.model_validate({"site_url": "https://acme.atlassian.net", "unknown": 1})


def test_credentials_are_sent_with_basic_auth_and_never_shown() -> None:
    credentials = ConfluenceCredentials.model_validate({"email": "bot@acme.com", "api_token": "s3cret-token"})
    assert credentials.headers() == {
        "Authorization": "Basic " + base64.b64encode(b"bot@acme.com:s3cret-token").decode()
    }
    assert "s3cret-token" not in repr(credentials)
    with pytest.raises(ValidationError):
        ConfluenceCredentials.model_validate({"email": "not an address", "api_token": "x"})
    with pytest.raises(ValidationError):
        ConfluenceCredentials.model_validate({"email": "bot@acme.com", "api_token": ""})
