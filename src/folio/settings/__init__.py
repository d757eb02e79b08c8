"""Settings: environment variables with the prefix `FOLIO_`, nested groups (`folio.settings.groups`) after `__`."""

from __future__ import annotations

import base64
import binascii
import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from folio.guessing import guess_bits
from folio.settings.accounts import PlanLimits, PlanSettings, SsoProvider, SsoSettings
from folio.settings.groups import (
    DEVELOPMENT_JWT_SECRET,
    AlertSettings,
    AnalyticsSettings,
    AuditSettings,
    AuthSettings,
    CaseSettings,
    DatabaseSettings,
    EmbeddingSettings,
    EnrichmentSettings,
    EventSettings,
    ExportSettings,
    HttpSettings,
    IngestionSettings,
    JobSettings,
    LLMSettings,
    LogSettings,
    ModelPrice,
    RateLimitSettings,
    RecordSettings,
    SearchSettings,
    UsageSettings,
    WebhookSettings,
)
from folio.settings.integrations import IntegrationSettings, OAuthApp
from folio.settings.outbound import OutboundSettings
from folio.settings.storage import StorageSettings

# A valid Fernet key everyone can compute: stored credentials stay readable across development restarts, and
# production refuses it like the development JWT secret.
DEVELOPMENT_ENCRYPTION_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"folio-development-encryption-key-do-not-use-in-production").digest()
).decode()


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.b64decode(key, altchars=b"-_", validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


__all__ = [
    "AlertSettings",
    "AnalyticsSettings",
    "AuditSettings",
    "AuthSettings",
    "CaseSettings",
    "DEVELOPMENT_ENCRYPTION_KEY",
    "DEVELOPMENT_JWT_SECRET",
    "DatabaseSettings",
    "EmbeddingSettings",
    "EnrichmentSettings",
    "Environment",
    "EventSettings",
    "ExportSettings",
    "HttpSettings",
    "IngestionSettings",
    "IntegrationSettings",
    "JobSettings",
    "LLMSettings",
    "LogSettings",
    "ModelPrice",
    "OAuthApp",
    "OutboundSettings",
    "PlanLimits",
    "PlanSettings",
    "RateLimitSettings",
    "RecordSettings",
    "SearchSettings",
    "Settings",
    "SsoProvider",
    "SsoSettings",
    "StorageSettings",
    "UsageSettings",
    "WebhookSettings",
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FOLIO_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
    )

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("data")
    database_url: str | None = Field(
        None, description="PostgreSQL URL; unset starts the embedded server under data_dir."
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL: the job queue for `folio worker` processes, the event bus between processes, and "
        "rate-limit counters shared by every API process. Unset, one process does it all in memory.",
    )
    encryption_keys: SecretStr = Field(
        SecretStr(DEVELOPMENT_ENCRYPTION_KEY),
        description="Fernet keys for stored credentials, comma-separated: the first encrypts, all decrypt (rotation).",
    )
    max_upload_mb: int = Field(100, ge=1, description="Largest uploaded file, in MiB.")
    host: str = "127.0.0.1"
    port: int = 8000

    db: DatabaseSettings = DatabaseSettings()
    storage: StorageSettings = StorageSettings()
    auth: AuthSettings = AuthSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    http: HttpSettings = HttpSettings()
    ingestion: IngestionSettings = IngestionSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    search: SearchSettings = SearchSettings()
    llm: LLMSettings = LLMSettings()
    jobs: JobSettings = JobSettings()
    usage: UsageSettings = UsageSettings()
    records: RecordSettings = RecordSettings()
    cases: CaseSettings = CaseSettings()
    enrichment: EnrichmentSettings = EnrichmentSettings()
    outbound: OutboundSettings = OutboundSettings()
    events: EventSettings = EventSettings()
    webhooks: WebhookSettings = WebhookSettings()
    audit: AuditSettings = AuditSettings()
    exports: ExportSettings = ExportSettings()
    alerts: AlertSettings = AlertSettings()
    analytics: AnalyticsSettings = AnalyticsSettings()
    plans: PlanSettings = PlanSettings()
    sso: SsoSettings = SsoSettings()
    integrations: IntegrationSettings = IntegrationSettings()
    log: LogSettings = LogSettings()

    @model_validator(mode="after")
    def _refuse_weak_secret_outside_development(self) -> Self:
        if self.env is Environment.DEVELOPMENT:
            return self
        secret = self.auth.jwt_secret.get_secret_value()
        if secret == DEVELOPMENT_JWT_SECRET:
            raise ValueError(
                "FOLIO_ENV=production needs FOLIO_AUTH__JWT_SECRET: the built-in development secret "
                "would let anyone forge tokens. Generate one with `openssl rand -hex 32`."
            )
        if len(secret) < 32:
            raise ValueError("FOLIO_AUTH__JWT_SECRET must be at least 32 characters in production.")
        # 128 bits: 32 random bytes in hex (`openssl rand -hex 32`, ~200 bits here) or base64 (~140) pass; words,
        # phrases and repeated or sequential characters, whatever their length, do not.
        bits = guess_bits(secret)
        if bits < 128:
            raise ValueError(
                f"FOLIO_AUTH__JWT_SECRET is too easy to guess (about {bits:.0f} bits; production needs 128): repeated "
                "or sequential characters, words and phrases do not count for their length. Generate one with "
                "`openssl rand -hex 32`."
            )
        return self

    @model_validator(mode="after")
    def _refuse_development_encryption_key_outside_development(self) -> Self:
        keys = self.encryption_key_list
        if not keys:
            raise ValueError("FOLIO_ENCRYPTION_KEYS needs at least one key.")
        if not all(_is_fernet_key(key) for key in keys):
            raise ValueError(
                "FOLIO_ENCRYPTION_KEYS holds a key that is not a Fernet key (32 bytes in url-safe base64); make one "
                "with `python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'`."
            )
        if self.env is not Environment.DEVELOPMENT and DEVELOPMENT_ENCRYPTION_KEY in keys:
            raise ValueError(
                "FOLIO_ENV=production needs FOLIO_ENCRYPTION_KEYS: with the built-in development key anyone could "
                "decrypt the stored API keys."
            )
        return self

    @property
    def encryption_key_list(self) -> list[str]:
        """The Fernet keys, newest (the one that encrypts) first."""
        return [key.strip() for key in self.encryption_keys.get_secret_value().split(",") if key.strip()]

    @property
    def embedded_database_dir(self) -> Path:
        return (self.data_dir / "postgres").resolve()

    @property
    def files_dir(self) -> Path:
        """Where uploaded files are stored by the local storage backend."""
        return (self.data_dir / "files").resolve()

    @property
    def is_development(self) -> bool:
        return self.env is Environment.DEVELOPMENT
