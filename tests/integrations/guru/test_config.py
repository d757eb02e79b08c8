"""What an organization's admin may set for a Guru integration, and how the credentials become the header."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from folio.integrations.connectors.guru import GuruConfig, GuruCredentials
from tests.integrations.fakes.guru import fake_id


def test_collection_ids_are_guru_ids_normalised_and_bounded() -> None:
    collection = fake_id(1, 10)
    config = GuruConfig(collection_ids=[collection.upper(), f" {collection} "])
    assert config.collection_ids == [collection]
    assert GuruConfig().collection_ids == []
    assert GuruConfig().verified_only is False
    with pytest.raises(ValidationError):
        GuruConfig(collection_ids=["General"])
    with pytest.raises(ValidationError):
        GuruConfig(collection_ids=[fake_id(1, n) for n in range(101)])
    with pytest.raises(ValidationError):
        GuruConfig.model_validate({"collection_ids": [], "boards": []})


def test_credentials_are_basic_authentication() -> None:
    credentials = GuruCredentials(username="ada@acme.example", token="t0ken-secret")
    expected = base64.b64encode(b"ada@acme.example:t0ken-secret").decode()
    assert credentials.headers() == {"Authorization": f"Basic {expected}", "Accept": "application/json"}
    assert "t0ken-secret" not in repr(credentials)


@pytest.mark.parametrize("username", ["", "ada:admin@acme.example", "ada @acme.example"])
def test_a_username_basic_authentication_cannot_carry_is_refused(username: str) -> None:
    with pytest.raises(ValidationError):
        GuruCredentials(username=username, token="t0ken")


def test_credentials_take_nothing_else() -> None:
    with pytest.raises(ValidationError):
        GuruCredentials.model_validate({"username": "ada@acme.example", "token": "t", "password": "p"})
    with pytest.raises(ValidationError):
        GuruCredentials(username="ada@acme.example", token="")
