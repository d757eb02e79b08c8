"""The start-up line: what the process runs on, and a warning only while the built-in development secrets are in
use (a served process shows both: tests/events/test_restart.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from folio.observability.startup import log_startup
from folio.settings import Settings
from tests.conftest import TEST_ENCRYPTION_KEY, TEST_JWT_SECRET


def events(caplog: pytest.LogCaptureFixture) -> dict[str, dict[str, Any]]:
    return {
        record.msg["event"]: record.msg
        for record in caplog.records
        if record.name == "folio.observability.startup" and isinstance(record.msg, dict)
    }


def test_a_worker_with_its_own_secrets_logs_what_it_runs_on_and_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="folio.observability.startup")
    settings = Settings(
        _env_file=None,
        env="production",
        database_url="postgresql://folio@db/folio",
        redis_url="redis://cache:6379/0",
        auth={"jwt_secret": TEST_JWT_SECRET},
        encryption_keys=TEST_ENCRYPTION_KEY,
        llm={"provider": "openai", "model": "gpt-4o-mini"},
        storage={"backend": "s3", "bucket": "folio"},
    )

    log_startup(settings, "worker")

    logged = events(caplog)
    assert set(logged) == {"folio_started"}
    started = logged["folio_started"]
    assert {key: started[key] for key in ("process", "env", "database", "llm_model", "storage", "job_broker")} == {
        "process": "worker",
        "env": "production",
        "database": "external",
        "llm_model": "gpt-4o-mini",
        "storage": "s3",
        "job_broker": "redis",
    }


def test_the_development_secrets_are_named_in_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="folio.observability.startup")

    log_startup(Settings(_env_file=None, auth={"jwt_secret": TEST_JWT_SECRET}), "api")

    logged = events(caplog)
    assert logged["folio_started"]["database"] == "embedded"
    assert logged["development_secrets_in_use"]["settings"] == ["FOLIO_ENCRYPTION_KEYS"]
