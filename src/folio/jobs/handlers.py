"""The job kinds a deployment runs, by name, with what they need. API and worker processes build the same table."""

from __future__ import annotations

from functools import cache

from folio.documents.storage import Storage
from folio.embeddings.factory import create_provider
from folio.embeddings.provider import EmbeddingProvider
from folio.ingestion.tasks import INGEST_DOCUMENT, Ingestion
from folio.jobs.runner import Handler
from folio.settings import Settings


def build_handlers(settings: Settings, storage: Storage) -> dict[str, Handler]:
    @cache
    def embedder() -> EmbeddingProvider:
        # Made on first use, so processes that never embed never load a model.
        return create_provider(settings.embeddings)

    return {INGEST_DOCUMENT: Ingestion(settings.ingestion, storage, embedder)}
