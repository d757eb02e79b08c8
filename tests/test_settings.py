"""Settings: environment variables with the FOLIO_ prefix, nested with `__`, and no weak secrets in production."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from folio.settings import DEVELOPMENT_JWT_SECRET, Environment, Settings

# What `openssl rand -hex 32` prints: 32 random bytes in hex.
LONG_SECRET = "ad41dd2a8a56459460d9779f601910150359fcbe1dfe5da641a7a90fb084041b"
# Production refuses the built-in encryption key too (FOLIO_ENCRYPTION_KEYS).
ENCRYPTION_KEY = "dGVzdC1lbmNyeXB0aW9uLWtleS1mb3ItZm9saW8tMzI="


@pytest.fixture(autouse=True)
def _no_folio_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the FOLIO_ variables they set."""
    for name in list(os.environ):
        if name.upper().startswith("FOLIO_"):
            monkeypatch.delenv(name)


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValidationError, match="FOLIO_AUTH__JWT_SECRET"):
        Settings(_env_file=None, env="production")


def test_production_refuses_the_development_secret_given_explicitly() -> None:
    with pytest.raises(ValidationError, match="FOLIO_AUTH__JWT_SECRET"):
        Settings(_env_file=None, env="production", auth={"jwt_secret": DEVELOPMENT_JWT_SECRET})


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(_env_file=None, env="production", auth={"jwt_secret": "s" * 31})


def test_production_accepts_a_long_random_secret() -> None:
    settings = Settings(
        _env_file=None, env="production", auth={"jwt_secret": LONG_SECRET}, encryption_keys=ENCRYPTION_KEY
    )
    assert settings.env is Environment.PRODUCTION
    assert not settings.is_development
    assert settings.auth.jwt_secret.get_secret_value() == LONG_SECRET


@pytest.mark.parametrize(
    "secret",
    [
        " " * 32,
        "a" * 32,
        "s" * 64,
        "abc" * 11,
        "0123456789abcdef" * 4,
        "abcdefghijklmnopqrstuvwxyz123456",
        "qwertyuiopasdfghjklzxcvbnm123456",
        "correct horse battery staple is my secret",
        "thisismysupersecretjwtsigningkeyforproduction",
        "password" * 4,
    ],
    ids=[
        "spaces",
        "one-letter",
        "one-letter-64",
        "abc-repeated",
        "hex-digits-repeated",
        "alphabet",
        "keyboard",
        "phrase",
        "phrase-run-together",
        "word-repeated",
    ],
)
def test_production_refuses_a_long_but_guessable_secret(secret: str) -> None:
    assert len(secret) >= 32
    with pytest.raises(ValidationError, match="too easy to guess") as refused:
        Settings(_env_file=None, env="production", auth={"jwt_secret": secret}, encryption_keys=ENCRYPTION_KEY)
    message = str(refused.value)
    assert "openssl rand -hex 32" in message
    assert secret not in message


@pytest.mark.parametrize(
    "make",
    [
        lambda: secrets.token_hex(32),
        lambda: secrets.token_urlsafe(32),
        lambda: base64.b64encode(secrets.token_bytes(32)).decode(),
        lambda: secrets.token_hex(64),
    ],
    ids=["openssl-rand-hex-32", "urlsafe-32-bytes", "base64-32-bytes", "hex-64-bytes"],
)
def test_production_accepts_random_secrets(make: Callable[[], str]) -> None:
    for _ in range(20):
        secret = make()
        settings = Settings(
            _env_file=None, env="production", auth={"jwt_secret": secret}, encryption_keys=ENCRYPTION_KEY
        )
        assert settings.auth.jwt_secret.get_secret_value() == secret


def test_development_accepts_a_weak_secret() -> None:
    assert Settings(_env_file=None, auth={"jwt_secret": "a" * 32}).auth.jwt_secret.get_secret_value() == "a" * 32


def test_refresh_grace_window_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(_env_file=None).auth.refresh_grace_seconds == 30
    monkeypatch.setenv("FOLIO_AUTH__REFRESH_GRACE_SECONDS", "0")
    assert Settings(_env_file=None).auth.refresh_grace_seconds == 0
    for refused in ("-1", "301"):
        monkeypatch.setenv("FOLIO_AUTH__REFRESH_GRACE_SECONDS", refused)
        with pytest.raises(ValidationError, match="refresh_grace_seconds"):
            Settings(_env_file=None)


def test_development_accepts_the_default_secret() -> None:
    settings = Settings(_env_file=None)
    assert settings.env is Environment.DEVELOPMENT
    assert settings.is_development
    assert settings.auth.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET


def test_the_secret_is_not_shown_in_the_settings_repr() -> None:
    settings = Settings(
        _env_file=None, env="production", auth={"jwt_secret": LONG_SECRET}, encryption_keys=ENCRYPTION_KEY
    )
    assert LONG_SECRET not in repr(settings)
    assert LONG_SECRET not in str(settings.model_dump())


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, env="staging")


def test_production_from_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLIO_ENV", "production")
    monkeypatch.setenv("FOLIO_ENCRYPTION_KEYS", ENCRYPTION_KEY)
    with pytest.raises(ValidationError, match="FOLIO_AUTH__JWT_SECRET"):
        Settings(_env_file=None)

    monkeypatch.setenv("FOLIO_AUTH__JWT_SECRET", LONG_SECRET)
    settings = Settings(_env_file=None)
    assert settings.env is Environment.PRODUCTION
    assert settings.auth.jwt_secret.get_secret_value() == LONG_SECRET

    monkeypatch.setenv("FOLIO_AUTH__JWT_SECRET", "too-short")
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(_env_file=None)


def test_prefixed_and_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLIO_DATABASE_URL", "postgresql://folio:pw@db.internal:5432/folio")
    monkeypatch.setenv("FOLIO_REDIS_URL", "redis://cache.internal:6379/2")
    monkeypatch.setenv("FOLIO_PORT", "9123")
    monkeypatch.setenv("FOLIO_RATE_LIMIT__USER", "5/second;100/hour")
    monkeypatch.setenv("FOLIO_RATE_LIMIT__ENABLED", "false")
    monkeypatch.setenv("FOLIO_HTTP__MAX_BODY_KB", "64")
    monkeypatch.setenv("FOLIO_DB__POOL_SIZE", "3")
    monkeypatch.setenv("FOLIO_AUTH__ACCESS_TOKEN_MINUTES", "5")
    settings = Settings(_env_file=None)
    assert settings.database_url == "postgresql://folio:pw@db.internal:5432/folio"
    assert settings.redis_url == "redis://cache.internal:6379/2"
    assert settings.port == 9123
    assert settings.rate_limit.user == "5/second;100/hour"
    assert settings.rate_limit.enabled is False
    # Fields of a nested group that no variable names keep their defaults.
    assert settings.rate_limit.api_key == "1200/minute"
    assert settings.rate_limit.auth == "10/minute"
    assert settings.http.max_body_kb == 64
    assert settings.db.pool_size == 3
    assert settings.db.max_overflow == 10
    assert settings.auth.access_token_minutes == 5


def test_unprefixed_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")
    monkeypatch.setenv("RATE_LIMIT__USER", "1/second")
    monkeypatch.setenv("PORT", "1234")
    settings = Settings(_env_file=None)
    assert settings.database_url is None
    assert settings.rate_limit.user == "600/minute"
    assert settings.port == 8000


def test_environment_variables_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLIO_HTTP__MAX_BODY_KB", "0")
    with pytest.raises(ValidationError, match="max_body_kb"):
        Settings(_env_file=None)


def test_explicit_values_override_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOLIO_PORT", "9000")
    assert Settings(_env_file=None, port=8001).port == 8001


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "FOLIO_ENV=production\n"
        f"FOLIO_AUTH__JWT_SECRET={LONG_SECRET}\n"
        f"FOLIO_ENCRYPTION_KEYS={ENCRYPTION_KEY}\n"
        "FOLIO_RATE_LIMIT__AUTH=3/minute\n"
        "FOLIO_UNKNOWN_SETTING=ignored\n"
    )
    settings = Settings(_env_file=env_file)
    assert settings.env is Environment.PRODUCTION
    assert settings.rate_limit.auth == "3/minute"

    # A real environment variable wins over the file.
    monkeypatch.setenv("FOLIO_RATE_LIMIT__AUTH", "4/minute")
    assert Settings(_env_file=env_file).rate_limit.auth == "4/minute"
