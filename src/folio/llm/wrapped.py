"""A provider around another whose every call runs inside `held()`: a circuit breaker's guard, a concurrency slot,
a count of calls in flight. A stream holds it until the stream ends, and closes the upstream response when it does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal

from folio.llm.provider import Completion, Delta, LLMProvider, Message

Operation = Literal["complete", "stream"]


class WrappedLLM:
    """Subclasses say what a call holds (`held`) and whether `close` reaches the provider (it does here)."""

    def __init__(self, provider: LLMProvider) -> None:
        self.provider = provider

    @property
    def model(self) -> str:
        return self.provider.model

    def held(self, operation: Operation) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        async with self.held("complete"):
            return await self.provider.complete(
                messages, max_tokens=max_tokens, temperature=temperature, json_schema=json_schema
            )

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[Delta]:
        async with self.held("stream"):
            async for delta in relay(self.provider.stream(messages, max_tokens=max_tokens, temperature=temperature)):
                yield delta

    async def close(self) -> None:
        await self.provider.close()


async def relay(deltas: AsyncIterator[Delta]) -> AsyncIterator[Delta]:
    """The deltas; the upstream response is closed when the relay ends, not when the garbage collector finds it."""
    try:
        async for delta in deltas:
            yield delta
    finally:
        aclose = getattr(deltas, "aclose", None)
        if aclose is not None:
            await aclose()
