"""FOLIO_LLM__* and FOLIO_ENCRYPTION_KEYS: parsing, refusals, and key rotation of stored credentials."""

from __future__ import annotations

import os

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from folio.llm.crypto import CredentialCipher, CredentialUnreadable
from folio.settings import DEVELOPMENT_ENCRYPTION_KEY, Settings

# Random hex: production settings refuse guessable secrets (repeats, sequences) whatever their length.
JWT_SECRET = "9f3c1ab07e5d42c8a61f0b9e3d7c25a4e8b1f6d09a3c7e52b4d8f1a6c0e93b27"


@pytest.fixture(autouse=True)
def _no_folio_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("FOLIO_"):
            monkeypatch.delenv(name)


def new_key() -> str:
    return Fernet.generate_key().decode()


def test_the_defaults_keep_answers_offline() -> None:
    settings = Settings(_env_file=None)
    assert settings.llm.provider == "extractive"
    assert settings.llm.context_tokens > settings.llm.max_answer_tokens
    assert settings.encryption_key_list == [DEVELOPMENT_ENCRYPTION_KEY]


def test_llm_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "FOLIO_LLM__PROVIDER": "openai",
        "FOLIO_LLM__BASE_URL": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "FOLIO_LLM__API_KEY": "sk-from-env",
        "FOLIO_LLM__MODEL": "qwen-plus",
        "FOLIO_LLM__TIMEOUT_SECONDS": "12.5",
        "FOLIO_LLM__MAX_RETRIES": "4",
        "FOLIO_LLM__BREAKER_FAILURES": "7",
        "FOLIO_LLM__BREAKER_RESET_SECONDS": "45",
        "FOLIO_LLM__CONTEXT_TOKENS": "32768",
        "FOLIO_LLM__MAX_ANSWER_TOKENS": "2048",
        "FOLIO_LLM__TEMPERATURE": "0",
    }.items():
        monkeypatch.setenv(name, value)
    llm = Settings(_env_file=None).llm
    assert llm.provider == "openai"
    assert llm.base_url == "https://dashscope-intl.aliyuncs.com/compatible-mode/v1"
    assert llm.api_key.get_secret_value() == "sk-from-env"
    assert "sk-from-env" not in repr(llm)
    assert (llm.model, llm.timeout_seconds, llm.max_retries) == ("qwen-plus", 12.5, 4)
    assert (llm.breaker_failures, llm.breaker_reset_seconds) == (7, 45)
    assert (llm.context_tokens, llm.max_answer_tokens, llm.temperature) == (32768, 2048, 0)


def test_an_unknown_provider_and_an_answer_larger_than_the_context_are_refused() -> None:
    with pytest.raises(ValidationError, match="provider"):
        Settings(_env_file=None, llm={"provider": "mystery"})
    with pytest.raises(ValidationError, match="FOLIO_LLM__MAX_ANSWER_TOKENS"):
        Settings(_env_file=None, llm={"context_tokens": 1024, "max_answer_tokens": 1024})


def test_production_refuses_the_development_encryption_key() -> None:
    with pytest.raises(ValidationError, match="FOLIO_ENCRYPTION_KEYS"):
        Settings(_env_file=None, env="production", auth={"jwt_secret": JWT_SECRET})
    with pytest.raises(ValidationError, match="FOLIO_ENCRYPTION_KEYS"):
        Settings(
            _env_file=None,
            env="production",
            auth={"jwt_secret": JWT_SECRET},
            encryption_keys=f"{new_key()},{DEVELOPMENT_ENCRYPTION_KEY}",
        )


def test_production_accepts_its_own_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = new_key(), new_key()
    monkeypatch.setenv("FOLIO_ENV", "production")
    monkeypatch.setenv("FOLIO_AUTH__JWT_SECRET", JWT_SECRET)
    monkeypatch.setenv("FOLIO_ENCRYPTION_KEYS", f" {first} , {second} ")
    settings = Settings(_env_file=None)
    assert settings.encryption_key_list == [first, second]
    assert first not in repr(settings)


# The random key gets a fixed id: pytest-xdist workers must collect the same test names.
@pytest.mark.parametrize(
    "keys", ["", " , ", "not-a-key", "c2hvcnQ=", pytest.param(new_key()[:-2] + "!=", id="a-key-with-a-bad-character")]
)
def test_keys_that_are_not_fernet_keys_are_refused(keys: str) -> None:
    with pytest.raises(ValidationError, match="FOLIO_ENCRYPTION_KEYS"):
        Settings(_env_file=None, encryption_keys=keys)


def test_the_development_key_is_a_working_fernet_key() -> None:
    cipher = CredentialCipher([DEVELOPMENT_ENCRYPTION_KEY])
    assert cipher.decrypt(cipher.encrypt("sk-dev")) == "sk-dev"


def test_keys_rotate_by_putting_a_new_one_first() -> None:
    old, new = new_key(), new_key()
    token = CredentialCipher([old]).encrypt("sk-rotating")
    assert "sk-rotating" not in token

    both = CredentialCipher([new, old])
    assert both.decrypt(token) == "sk-rotating"
    rotated = both.rotate(token)

    assert CredentialCipher([new]).decrypt(rotated) == "sk-rotating"
    with pytest.raises(CredentialUnreadable):
        CredentialCipher([new]).decrypt(token)
