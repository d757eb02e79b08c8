"""The language model of each organization, with clients and circuit breakers that outlive requests."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.llm import service
from folio.llm.breaker import CircuitBreaker
from folio.llm.crypto import CredentialCipher
from folio.llm.guarded import GuardedLLM
from folio.llm.openai_compatible import Endpoint, OpenAICompatibleLLM
from folio.llm.provider import LLMProvider
from folio.settings import LLMSettings, Settings


class LLMRegistry:
    """Held by the app (`app.state.llm`) and the worker; `for_org` is how a service gets its model.

    Each call reads the organization's settings row (a primary-key lookup), so a change made through any API
    process applies to the next call everywhere. Clients are cached per endpoint (model, base URL, key): equal
    endpoints share one connection pool and one circuit breaker, and a changed setting simply leads to another
    entry. Entries live until `close`; there is one per endpoint ever configured since the process started, a
    few kilobytes each.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings: LLMSettings = settings.llm
        self.cipher = CredentialCipher(settings.encryption_key_list)
        self._providers: dict[Endpoint, GuardedLLM] = {}

    async def for_org(self, session: AsyncSession, org_id: UUID) -> LLMProvider | None:
        """The organization's model; None means the offline extractive engine.

        Raises `LLMCredentialsUnreadable` when the organization's stored key cannot be decrypted.
        """
        endpoint = await service.endpoint_for_org(session, org_id=org_id, server=self.settings, cipher=self.cipher)
        return None if endpoint is None else self.provider_for(endpoint)

    def provider_for(self, endpoint: Endpoint) -> GuardedLLM:
        provider = self._providers.get(endpoint)
        if provider is None:
            breaker = CircuitBreaker(
                f"{endpoint.model} at {endpoint.host}",
                failures=self.settings.breaker_failures,
                reset_seconds=self.settings.breaker_reset_seconds,
            )
            provider = GuardedLLM(OpenAICompatibleLLM(endpoint, self.settings), breaker)
            self._providers[endpoint] = provider
        return provider

    async def close(self) -> None:
        providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            await provider.close()
