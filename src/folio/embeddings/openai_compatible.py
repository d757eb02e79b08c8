"""Embeddings from any OpenAI-compatible endpoint (OpenAI, DashScope, Ollama, vLLM…) through the official SDK."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import openai

from folio.embeddings.provider import Embeddings
from folio.errors import FolioError
from folio.models.chunk import EMBEDDING_DIMENSION
from folio.observability import metrics
from folio.settings import EmbeddingSettings


class EmbeddingProviderRefused(FolioError):
    """The embeddings endpoint refused the request (bad key, unknown model, wrong dimension); retrying won't help."""

    status_code = 502
    code = "EMBEDDINGS_REFUSED"
    message = "The embeddings service refused the request."


# Answers that mean the request itself is wrong: trying again cannot help.
_REFUSALS = (openai.AuthenticationError, openai.PermissionDeniedError, openai.BadRequestError, openai.NotFoundError)


class OpenAICompatibleEmbeddings:
    """Vectors of `settings.model`, asked for in the index's dimension; timeouts, 429s and 5xx are retried by the
    SDK (`max_retries`, with backoff) and then by the job's own attempts."""

    dimension = EMBEDDING_DIMENSION

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.model = settings.model
        self._batch_size = settings.batch_size or 64
        self._request_dimensions = settings.request_dimensions
        self._client = openai.AsyncOpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key.get_secret_value() or "none",
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
        )

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        started = time.perf_counter()
        result = np.empty((len(texts), self.dimension), dtype=np.float32)
        for first in range(0, len(texts), self._batch_size):
            batch = list(texts[first : first + self._batch_size])
            result[first : first + len(batch)] = await self._embed_batch(batch)
        norms = np.linalg.norm(result, axis=1, keepdims=True)
        unit: Embeddings = result / np.maximum(norms, np.float32(1e-12))
        metrics.EMBEDDING_DURATION.labels("openai").observe(time.perf_counter() - started)
        metrics.EMBEDDED_TEXTS.labels("openai").inc(len(texts))
        return unit

    async def _embed_batch(self, batch: list[str]) -> Embeddings:
        try:
            response = await self._client.embeddings.create(
                model=self.model,
                input=batch,
                encoding_format="float",
                dimensions=self.dimension if self._request_dimensions else openai.omit,
            )
        except _REFUSALS as exc:
            raise EmbeddingProviderRefused(f"{type(exc).__name__}: {exc.message}") from exc
        rows = sorted(response.data, key=lambda item: item.index)
        if len(rows) != len(batch) or any(len(row.embedding) != self.dimension for row in rows):
            raise EmbeddingProviderRefused(
                f"{self.model} answered {len(rows)} vectors of {len(rows[0].embedding) if rows else 0} dimensions; "
                f"the index needs {len(batch)} of {self.dimension}."
            )
        return np.asarray([row.embedding for row in rows], dtype=np.float32)

    async def close(self) -> None:
        await self._client.close()
