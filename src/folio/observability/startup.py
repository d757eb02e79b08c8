"""The line a process logs when it starts: what it runs on, so an operator reads the deployment from one line."""

from __future__ import annotations

from typing import Literal

import structlog

from folio.embeddings.factory import identity
from folio.settings import DEVELOPMENT_ENCRYPTION_KEY, DEVELOPMENT_JWT_SECRET, Settings

log = structlog.get_logger(__name__)


def log_startup(settings: Settings, process: Literal["api", "worker"]) -> None:
    """One info line with the database mode, the language model, the embedding model, the file storage and the job
    broker; and a warning when the built-in development secrets are in use (only FOLIO_ENV=development accepts
    them, and anyone can read them in the source)."""
    model, dimension = identity(settings.embeddings)
    log.info(
        "folio_started",
        process=process,
        env=settings.env.value,
        database="external" if settings.database_url else "embedded",
        llm_provider=settings.llm.provider,
        llm_model=settings.llm.model if settings.llm.provider == "openai" else None,
        embedding_provider=settings.embeddings.provider,
        embedding_model=model,
        embedding_dimension=dimension,
        storage=settings.storage.backend,
        job_broker="redis" if settings.redis_url else "memory",
        job_concurrency=settings.jobs.concurrency,
    )
    development = development_secrets(settings)
    if development:
        log.warning(
            "development_secrets_in_use",
            settings=development,
            hint="Anyone can forge tokens or decrypt stored credentials with them: set these before real use.",
        )


def development_secrets(settings: Settings) -> list[str]:
    """The settings that still hold the built-in development secret."""
    secrets = []
    if settings.auth.jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET:
        secrets.append("FOLIO_AUTH__JWT_SECRET")
    if DEVELOPMENT_ENCRYPTION_KEY in settings.encryption_key_list:
        secrets.append("FOLIO_ENCRYPTION_KEYS")
    return secrets
