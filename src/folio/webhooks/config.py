"""What webhooks need from the deployment's settings: limits, the retry schedule, the outbound guard, the cipher."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from folio.llm.crypto import CredentialCipher
from folio.outbound import OutboundPolicy
from folio.settings import Settings, WebhookSettings


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    settings: WebhookSettings
    outbound: OutboundPolicy
    cipher: CredentialCipher

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookConfig:
        return cls(
            settings=settings.webhooks,
            outbound=OutboundPolicy.from_settings(settings.outbound),
            cipher=CredentialCipher(settings.encryption_key_list),
        )

    @property
    def max_attempts(self) -> int:
        return max_attempts(self.settings)

    def retry_delay(self, attempt: int) -> timedelta:
        """How long after failed attempt `attempt` (1-based) the next one is made."""
        schedule = self.settings.retry_schedule_seconds
        return timedelta(seconds=schedule[min(attempt, len(schedule)) - 1]) if schedule else timedelta()


def max_attempts(settings: WebhookSettings) -> int:
    """The first attempt and one per entry of the retry schedule."""
    return len(settings.retry_schedule_seconds) + 1
