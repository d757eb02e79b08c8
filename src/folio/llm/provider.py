"""What every generative model backend offers: a completion, a stream of deltas, and JSON output to a schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.prompt_tokens + other.prompt_tokens, self.completion_tokens + other.completion_tokens)


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    model: str
    usage: Usage
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Delta:
    """One piece of a streamed completion: text as it comes, then a last piece with the usage."""

    text: str = ""
    usage: Usage | None = None
    finish_reason: str | None = None


class LLMProvider(Protocol):
    """A chat model. Failures raise `LLMTimeout`, `LLMUnavailable` or `LLMRateLimited` (folio.llm.errors)."""

    @property
    def model(self) -> str:
        """The model name answers report."""
        ...

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        """The whole answer; with `json_schema`, the model is asked for JSON matching it (the caller validates)."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[Delta]:
        """The answer as it is generated; the last `Delta` carries the usage."""
        ...

    async def close(self) -> None:
        """Release the HTTP connections the provider holds."""
        ...
