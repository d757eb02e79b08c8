"""The language model of each organization, with clients and circuit breakers that outlive requests."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.llm import service
from folio.llm.breaker import CircuitBreaker
from folio.llm.cache import CachedLLM, ClientCache
from folio.llm.crypto import CredentialCipher
from folio.llm.guarded import GuardedLLM
from folio.llm.limiter import LocalLimiter, OrgLimitedLLM, SlotLimiter
from folio.llm.openai_compatible import Endpoint, OpenAICompatibleLLM
from folio.llm.provider import LLMProvider
from folio.llm.redis_limiter import RedisLimiter
from folio.outbound import OutboundPolicy
from folio.settings import LLMSettings, Settings


class LLMRegistry:
    """Held by the app (`app.state.llm`) and the worker; `for_org` is how a service gets its model.

    Each call reads the organization's settings row (a primary-key lookup), so a change made through any API
    process applies to the next call everywhere. Clients are cached per endpoint (model, base URL, key, and whether
    it is the server's own): equal endpoints share one connection pool and one circuit breaker, and a changed
    setting leads to another entry. The cache is bounded (FOLIO_LLM__CLIENT_CACHE_SIZE, least recently used out
    first, and FOLIO_LLM__CLIENT_IDLE_SECONDS); a client it drops is closed once its calls in flight end. Every
    provider `for_org` returns counts against the organization's FOLIO_LLM__ORG_CONCURRENCY.
    """

    def __init__(self, settings: Settings, *, limiter: SlotLimiter | None = None) -> None:
        self.settings: LLMSettings = settings.llm
        self.outbound = OutboundPolicy.from_settings(settings.outbound)
        self.cipher = CredentialCipher(settings.encryption_key_list)
        self.clients = ClientCache(
            self._new_provider, size=self.settings.client_cache_size, idle_seconds=self.settings.client_idle_seconds
        )
        self.limiter = limiter or self._limiter(settings)

    async def for_org(self, session: AsyncSession, org_id: UUID) -> LLMProvider | None:
        """The organization's model; None means the offline extractive engine.

        Raises `LLMCredentialsUnreadable` when the organization's stored key cannot be decrypted.
        """
        endpoint = await service.endpoint_for_org(session, org_id=org_id, server=self.settings, cipher=self.cipher)
        if endpoint is None:
            return None
        return OrgLimitedLLM(await self.provider_for(endpoint), self.limiter, org_id)

    async def provider_for(self, endpoint: Endpoint) -> CachedLLM:
        return await self.clients.get(endpoint)

    async def close(self) -> None:
        await self.clients.close()
        await self.limiter.close()

    def _new_provider(self, endpoint: Endpoint) -> GuardedLLM:
        breaker = CircuitBreaker(
            f"{endpoint.model} at {endpoint.host}",
            failures=self.settings.breaker_failures,
            reset_seconds=self.settings.breaker_reset_seconds,
        )
        label = endpoint.host if endpoint.trusted else "organization"
        return GuardedLLM(OpenAICompatibleLLM(endpoint, self.settings, self.outbound), breaker, label=label)

    def _limiter(self, settings: Settings) -> SlotLimiter:
        llm = settings.llm
        if settings.redis_url:
            return RedisLimiter.from_url(
                settings.redis_url,
                limit=llm.org_concurrency,
                wait_seconds=llm.org_busy_wait_seconds,
                lease_seconds=llm.org_slot_lease_seconds,
            )
        return LocalLimiter(llm.org_concurrency, llm.org_busy_wait_seconds)
