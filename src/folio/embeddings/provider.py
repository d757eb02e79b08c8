"""What every embedding backend offers: a model name, a dimension, and unit vectors for texts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

Embeddings = npt.NDArray[np.float32]


class EmbeddingProvider(Protocol):
    """Turns texts into L2-normalised vectors, so a dot product is a cosine similarity.

    `model` is stored with every vector: vectors from different models are never compared.
    """

    model: str
    dimension: int

    async def embed(self, texts: Sequence[str]) -> Embeddings:
        """A float32 array of shape `(len(texts), dimension)`, row `i` for `texts[i]`, each row of unit length."""
        ...

    async def close(self) -> None:
        """Release connections or sessions the provider holds."""
