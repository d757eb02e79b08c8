"""What an organization's admin may set for a web source, and the one spelling of a URL it is stored in."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from folio.integrations.connectors.web import WebConfig, WebCredentials


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("HTTP://Example.COM:80/Docs/#top", "http://example.com/Docs/"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/a?b=1#", "https://example.com:8443/a?b=1"),
        ("https://[2001:DB8::1]/x", "https://[2001:db8::1]/x"),
    ],
)
def test_urls_are_stored_in_one_spelling(given: str, stored: str) -> None:
    config = WebConfig(start_url=given, sitemap_url=given)
    assert config.start_url == config.sitemap_url == stored


def test_defaults() -> None:
    config = WebConfig(start_url="https://example.com/")
    assert (config.max_pages, config.max_depth, config.sitemap_url, config.path_prefix) == (100, 3, None, None)


@pytest.mark.parametrize(
    "fields",
    [
        {"start_url": "ftp://example.com/"},
        {"start_url": "https://user:secret@example.com/"},
        {"start_url": "/relative"},
        {"start_url": "https://example.com:99999/"},
        {"start_url": "https://example.com/" + "a" * 2000},
        {"start_url": "https://example.com/", "sitemap_url": "file:///etc/passwd"},
        {"start_url": "https://example.com/", "max_pages": 0},
        {"start_url": "https://example.com/", "max_pages": 100_001},
        {"start_url": "https://example.com/", "max_depth": 21},
        {"start_url": "https://example.com/", "max_depth": -1},
        {"start_url": "https://example.com/", "path_prefix": "docs"},
        {"start_url": "https://example.com/blog/", "path_prefix": "/docs"},
        {"start_url": "https://example.com/docs-old/", "path_prefix": "/docs"},
        {"start_url": "https://example.com/", "headers": {"X-Token": "t"}},
    ],
)
def test_what_is_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WebConfig.model_validate(fields)


def test_a_start_url_under_its_prefix_is_accepted() -> None:
    assert WebConfig(start_url="https://example.com/docs", path_prefix="/docs/").path_prefix == "/docs/"


def test_credentials_are_none() -> None:
    assert WebCredentials().headers() == {}
    with pytest.raises(ValidationError):
        WebCredentials.model_validate({"headers": {"Authorization": "Bearer t"}})
