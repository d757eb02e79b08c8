"""Chat completions from any OpenAI-compatible endpoint (OpenAI, DashScope, Ollama, vLLM…) through the official SDK.

Retries are the SDK's own: timeouts, connection errors, 408/409/429 and 5xx are tried again `max_retries` times with
exponential backoff and jitter (0.5 s doubling up to 8 s), honouring the server's Retry-After up to two minutes.
What is left after the retries is translated into Folio's errors here, so callers see only `LLMTimeout`,
`LLMRateLimited` and `LLMUnavailable`.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import openai
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONObject, ResponseFormatJSONSchema

from folio.errors import FolioError
from folio.llm.errors import LLMRateLimited, LLMTimeout, LLMUnavailable, retry_after_seconds
from folio.llm.provider import Completion, Delta, Message, Usage
from folio.llm.tokens import approximate_prompt_tokens, approximate_tokens
from folio.settings import LLMSettings

# Upstream messages are passed on (they say what is wrong: an unknown model, a bad key), but cut short and with
# anything that looks like a key masked: some providers quote part of the key they were given.
_MAX_UPSTREAM_MESSAGE = 300
_KEY_LIKE = re.compile(r"\b(?:sk|key|api|folio)[-_][A-Za-z0-9*._-]{6,}", re.IGNORECASE)
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a model is and the key it takes; equal endpoints share one client (and one circuit breaker)."""

    model: str
    base_url: str | None = None
    api_key: str = field(default="", repr=False)

    @property
    def host(self) -> str:
        """The endpoint as messages and logs name it: no path, no credentials."""
        if self.base_url is None:
            return "api.openai.com"
        return urlsplit(self.base_url).hostname or "the configured endpoint"


class OpenAICompatibleLLM:
    """`LLMProvider` over `openai.AsyncOpenAI`: one client, hence one connection pool, per endpoint."""

    def __init__(self, endpoint: Endpoint, settings: LLMSettings) -> None:
        self.endpoint = endpoint
        self._timeout = settings.timeout_seconds
        self._client = openai.AsyncOpenAI(
            base_url=endpoint.base_url,
            # The SDK insists on a key; local servers (Ollama, vLLM) ignore it.
            api_key=endpoint.api_key or "none",
            timeout=settings.timeout_seconds,
            max_retries=settings.max_retries,
        )
        # Set once the server has refused `json_schema` and accepted `json_object`, to skip the doomed attempt.
        self._json_object_only = False

    @property
    def model(self) -> str:
        return self.endpoint.model

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        try:
            if json_schema is None:
                response = await self._create(messages, max_tokens, temperature)
            else:
                response = await self._create_json(messages, max_tokens, temperature, json_schema)
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        if not response.choices:
            raise LLMUnavailable(f"{self._where} answered without a choice.")
        choice = response.choices[0]
        text = choice.message.content or ""
        if response.usage is not None:
            usage = Usage(response.usage.prompt_tokens, response.usage.completion_tokens)
        else:
            usage = Usage(approximate_prompt_tokens(messages), approximate_tokens(text))
        model = response.model or self.model
        return Completion(text=text, model=model, usage=usage, finish_reason=choice.finish_reason)

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> AsyncIterator[Delta]:
        """Text deltas as they arrive, then one `Delta` with the usage and the finish reason.

        The usage is the server's (`stream_options.include_usage`); a server that sends none gets an estimate from
        `folio.llm.tokens` (about four characters per token), which is close enough for budgets, not for billing.
        """
        pieces: list[str] = []
        usage: Usage | None = None
        finish_reason: str | None = None
        try:
            chunks = await self._client.chat.completions.create(
                model=self.model,
                messages=_messages(messages),
                max_tokens=_given(max_tokens),
                temperature=_given(temperature),
                stream=True,
                stream_options={"include_usage": True},
            )
            async with chunks:
                async for chunk in chunks:
                    if chunk.usage is not None:
                        usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                    if not chunk.choices:
                        continue
                    choice = chunk.choices[0]
                    finish_reason = choice.finish_reason or finish_reason
                    if choice.delta.content:
                        pieces.append(choice.delta.content)
                        yield Delta(text=choice.delta.content)
        except openai.OpenAIError as exc:
            raise self._translate(exc) from exc
        if usage is None:
            usage = Usage(approximate_prompt_tokens(messages), approximate_tokens("".join(pieces)))
        yield Delta(usage=usage, finish_reason=finish_reason)

    async def close(self) -> None:
        await self._client.close()

    async def _create(
        self,
        messages: Sequence[Message],
        max_tokens: int | None,
        temperature: float | None,
        response_format: ResponseFormatJSONSchema | ResponseFormatJSONObject | None = None,
    ) -> ChatCompletion:
        return await self._client.chat.completions.create(
            model=self.model,
            messages=_messages(messages),
            max_tokens=_given(max_tokens),
            temperature=_given(temperature),
            response_format=_given(response_format),
        )

    async def _create_json(
        self, messages: Sequence[Message], max_tokens: int | None, temperature: float | None, schema: dict[str, Any]
    ) -> ChatCompletion:
        """Structured output where the server has it; otherwise JSON mode with the schema spelled out in the prompt
        (older vLLM, Ollama and DashScope models accept only `json_object`)."""
        if not self._json_object_only:
            name = _SCHEMA_NAME.sub("_", str(schema.get("title") or "response"))[:64]
            strict_format: ResponseFormatJSONSchema = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema},
            }
            try:
                return await self._create(messages, max_tokens, temperature, strict_format)
            except (openai.BadRequestError, openai.UnprocessableEntityError):
                pass
        instruction: Message = {
            "role": "system",
            "content": "Answer with one JSON object, and nothing else, that matches this JSON Schema:\n"
            + json.dumps(schema, ensure_ascii=False),
        }
        response = await self._create([*messages, instruction], max_tokens, temperature, {"type": "json_object"})
        self._json_object_only = True
        return response

    @property
    def _where(self) -> str:
        return f"The language model {self.model} at {self.endpoint.host}"

    def _translate(self, exc: openai.OpenAIError) -> FolioError:
        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeout(f"{self._where} did not answer within {self._timeout:g} s.")
        if isinstance(exc, openai.RateLimitError):
            return LLMRateLimited(
                f"{self._where} is rate-limiting requests: {self._upstream_message(exc)}",
                retry_after=retry_after_seconds(exc.response.headers),
            )
        if isinstance(exc, openai.APIConnectionError):
            return LLMUnavailable(f"{self._where} could not be reached.")
        if isinstance(exc, openai.APIStatusError):
            # A 4xx other than 429 is the server's configuration (key, model name), not the Folio client's mistake.
            return LLMUnavailable(f"{self._where} answered {exc.status_code}: {self._upstream_message(exc)}")
        return LLMUnavailable(f"{self._where} failed: {self._upstream_message(exc)}")

    def _upstream_message(self, exc: openai.OpenAIError) -> str:
        body = getattr(exc, "body", None)
        message = body.get("message") if isinstance(body, dict) else None
        text = message if isinstance(message, str) and message else str(exc) or type(exc).__name__
        if self.endpoint.api_key:
            text = text.replace(self.endpoint.api_key, "***")
        text = _KEY_LIKE.sub("***", text)
        return text if len(text) <= _MAX_UPSTREAM_MESSAGE else text[: _MAX_UPSTREAM_MESSAGE - 1] + "…"


def _messages(messages: Sequence[Message]) -> list[ChatCompletionMessageParam]:
    converted: list[ChatCompletionMessageParam] = []
    for message in messages:
        if message["role"] == "system":
            converted.append({"role": "system", "content": message["content"]})
        elif message["role"] == "assistant":
            converted.append({"role": "assistant", "content": message["content"]})
        else:
            converted.append({"role": "user", "content": message["content"]})
    return converted


def _given(value: _T | None) -> _T | openai.Omit:
    return openai.omit if value is None else value
