"""The embedding provider the settings choose."""

from __future__ import annotations

from folio.embeddings.local import LocalMiniLM
from folio.embeddings.openai_compatible import OpenAICompatibleEmbeddings
from folio.embeddings.provider import EmbeddingProvider
from folio.settings import EmbeddingSettings


def create_provider(settings: EmbeddingSettings) -> EmbeddingProvider:
    if settings.provider == "openai":
        return OpenAICompatibleEmbeddings(settings)
    return LocalMiniLM(settings)


class LazyProvider:
    """The configured provider, made on first use (processes that never embed never load a model) and closed
    with the process."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self._provider: EmbeddingProvider | None = None

    def get(self) -> EmbeddingProvider:
        if self._provider is None:
            self._provider = create_provider(self.settings)
        return self._provider

    async def close(self) -> None:
        if self._provider is not None:
            await self._provider.close()
            self._provider = None


def identity(settings: EmbeddingSettings) -> tuple[str, int]:
    """The model name and dimension the settings choose, without loading a model."""
    if settings.provider == "openai":
        return settings.model, OpenAICompatibleEmbeddings.dimension
    return LocalMiniLM.model, LocalMiniLM.dimension
