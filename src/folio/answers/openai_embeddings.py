"""Embeddings for OpenAI's `/v1/embeddings`, made by the embedding model the server indexes with.

The model runs on this process's one inference thread, which also embeds search queries (and, embedded, the
ingestion jobs): each request is bounded in tokens, and only a few may run or wait at once, per organization and
per process; more answer 429 at once. The tokens are recorded as usage of kind `embedding`, as ingestion's are.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

import anyio.to_thread

from folio.answers.openai_errors import ModelNotFound, refused
from folio.auth.principal import Principal
from folio.embeddings.factory import LazyProvider, identity
from folio.embeddings.local import MAX_TOKENS
from folio.embeddings.provider import Embeddings
from folio.embeddings.tokenizer import load_tokenizer
from folio.errors import RateLimitExceeded
from folio.llm.provider import Usage
from folio.settings import EmbeddingSettings
from folio.usage.repository import EMBEDDING
from folio.usage.service import Meter

# Tokens of one request, all inputs together: a few seconds of the local model on two cores.
MAX_REQUEST_TOKENS = 8192
# Requests embedding at once (running or waiting for the inference thread), per organization and per process.
ORG_IN_FLIGHT = 2
PROCESS_IN_FLIGHT = 4
# Names the local MiniLM also answers to: those other servers and libraries give it.
LOCAL_ALIASES = ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")


@dataclass(frozen=True, slots=True)
class EmbeddingModel:
    id: str
    dimension: int
    aliases: tuple[str, ...] = ()
    # The longest input the model reads whole, in its tokens; None: the remote model's own limit applies.
    max_input_tokens: int | None = None

    @classmethod
    def configured(cls, settings: EmbeddingSettings) -> EmbeddingModel:
        model, dimension = identity(settings)
        if settings.provider == "local":
            return cls(model, dimension, LOCAL_ALIASES, MAX_TOKENS)
        return cls(model, dimension)

    def answers_to(self, name: str) -> bool:
        return name == self.id or name in self.aliases

    def check(self, name: str, dimensions: int | None) -> None:
        """Raise unless `name` is this model and `dimensions` (when given) its own."""
        if not self.answers_to(name):
            raise ModelNotFound(
                name,
                f"The model `{name}` does not exist or makes no embeddings: this server embeds with `{self.id}`.",
            )
        if dimensions is not None and dimensions != self.dimension:
            raise refused(
                "unsupported_value",
                f"{self.id} gives {self.dimension}-dimensional vectors; they cannot be shortened to {dimensions}.",
                "dimensions",
            )


@dataclass(frozen=True, slots=True)
class Embedded:
    vectors: Embeddings
    tokens: int


class InFlight:
    """Embedding requests under way in this process, per organization; a request over either limit is refused
    (429 with Retry-After) rather than queued. A lock, not the event loop, guards the counts: several servers may
    share a process (tests do)."""

    def __init__(self, *, per_org: int, per_process: int) -> None:
        self.per_org = per_org
        self.per_process = per_process
        self._lock = threading.Lock()
        self._orgs: dict[UUID, int] = {}
        self._total = 0

    @contextmanager
    def slot(self, org_id: UUID) -> Iterator[None]:
        with self._lock:
            running = self._orgs.get(org_id, 0)
            if running >= self.per_org or self._total >= self.per_process:
                raise RateLimitExceeded(
                    f"Too many embedding requests at once: at most {self.per_org} per organization and "
                    f"{self.per_process} on this server run together.",
                    details={"per_org": self.per_org, "per_process": self.per_process},
                    headers={"Retry-After": "1"},
                )
            self._orgs[org_id] = running + 1
            self._total += 1
        try:
            yield
        finally:
            with self._lock:
                self._total -= 1
                left = self._orgs.pop(org_id) - 1
                if left:
                    self._orgs[org_id] = left


IN_FLIGHT = InFlight(per_org=ORG_IN_FLIGHT, per_process=PROCESS_IN_FLIGHT)


def token_counts(texts: Sequence[str]) -> list[int]:
    """Each text's tokens as the MiniLM tokenizer counts them, [CLS] and [SEP] included (what usage records for
    every embedding model, as ingestion does)."""
    return [len(encoding.ids) for encoding in load_tokenizer().encode_batch(list(texts))]


async def embed(
    *,
    principal: Principal,
    inputs: str | list[str],
    model: EmbeddingModel,
    embedder: LazyProvider,
    meter: Meter,
    in_flight: InFlight = IN_FLIGHT,
) -> Embedded:
    """The inputs' vectors, row `i` for input `i`, and their tokens, recorded as the principal's usage."""
    texts = [inputs] if isinstance(inputs, str) else inputs
    with in_flight.slot(principal.org_id):
        counts = await anyio.to_thread.run_sync(token_counts, texts)
        _check_tokens(counts, model, single=isinstance(inputs, str))
        provider = await anyio.to_thread.run_sync(embedder.get)  # the first use loads the model
        vectors = await provider.embed(texts)
    tokens = sum(counts)
    await meter.record(principal, EMBEDDING, provider.model, Usage(prompt_tokens=tokens))
    return Embedded(vectors, tokens)


def _check_tokens(counts: Sequence[int], model: EmbeddingModel, *, single: bool) -> None:
    if model.max_input_tokens is not None:
        for index, count in enumerate(counts):
            if count > model.max_input_tokens:
                loc: tuple[str | int, ...] = ("input",) if single else ("input", index)
                where = "'input'" if single else f"input[{index}]"
                raise refused(
                    "context_length_exceeded",
                    f"{where} is {count} tokens long; {model.id} reads at most {model.max_input_tokens} tokens of an "
                    "input ([CLS] and [SEP] included). Split the text.",
                    *loc,
                )
    if sum(counts) > MAX_REQUEST_TOKENS:
        raise refused(
            "request_too_large",
            f"The inputs are {sum(counts)} tokens together; a request embeds at most {MAX_REQUEST_TOKENS}. Send "
            "fewer inputs per request.",
            "input",
        )
