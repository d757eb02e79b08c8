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


def identity(settings: EmbeddingSettings) -> tuple[str, int]:
    """The model name and dimension the settings choose, without loading a model."""
    if settings.provider == "openai":
        return settings.model, OpenAICompatibleEmbeddings.dimension
    return LocalMiniLM.model, LocalMiniLM.dimension
