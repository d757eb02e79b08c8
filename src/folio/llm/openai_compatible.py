"""Chat completions from any OpenAI-compatible endpoint (OpenAI, DashScope, Ollama, vLLM…) through the official SDK.

Retries are the SDK's own: timeouts, connection errors, 408/409/429 and 5xx are tried again `max_retries` times with
exponential backoff and jitter (0.5 s doubling up to 8 s), honouring the server's Retry-After up to two minutes.
What is left after the retries is translated into Folio's errors here, so callers see only `LLMTimeout`,
`LLMRateLimited`, `LLMUnavailable` (or its `LLMInvalidResponse`) and `LLMEndpointForbidden`.

An organization's endpoint is a URL a tenant chose, so its client is `folio.outbound`'s guarded one: checked and
pinned addresses, no redirects, a capped body. The server's own endpoint (FOLIO_LLM__BASE_URL) is the operator's
choice, often a model on the deployment's own network, and is called directly. Whatever the endpoint, its answer is
never passed on as it came: an error body is logged, not shown (a tenant could otherwise read any internal page
through it), and a 200 that is not a chat completion is an error, not an answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx2
import openai
import structlog
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONObject, ResponseFormatJSONSchema

from folio.errors import FolioError
from folio.llm.errors import (
    LLMEndpointForbidden,
    LLMInvalidResponse,
    LLMRateLimited,
    LLMTimeout,
    LLMUnavailable,
    retry_after_seconds,
)
from folio.llm.provider import Completion, Delta, Message, Usage
from folio.llm.tokens import approximate_prompt_tokens, approximate_tokens
from folio.outbound import OutboundPolicy, OutboundRefused, ResponseRefused, guarded_client
from folio.settings import LLMSettings

log = structlog.get_logger(__name__)

# Upstream messages go to the log only (they say what is wrong: an unknown model, a bad key), cut short and with
# anything that looks like a key masked: some providers quote part of the key they were given.
_MAX_UPSTREAM_MESSAGE = 2000
_KEY_LIKE = re.compile(r"\b(?:sk|key|api|folio)[-_][A-Za-z0-9*._-]{6,}", re.IGNORECASE)
_SCHEMA_NAME = re.compile(r"[^A-Za-z0-9_-]")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a model is and the key it takes; equal endpoints share one client (and one circuit breaker)."""

    model: str
    base_url: str | None = None
    api_key: str = field(default="", repr=False)
    # The server's own endpoint (FOLIO_LLM__*), configured by the operator: called without the outbound guard.
    trusted: bool = False

    @property
    def host(self) -> str:
        """The endpoint as messages and logs name it: no path, no credentials."""
        if self.base_url is None:
            return "api.openai.com"
        return urlsplit(self.base_url).hostname or "the configured endpoint"


class OpenAICompatibleLLM:
    """`LLMProvider` over `openai.AsyncOpenAI`: one client, hence one connection pool, per endpoint.

    An endpoint that is not `trusted` goes through the guarded client of `outbound` (by default the strictest:
    public addresses only). The client is opened at the first call and again at the first call after `close`, so a
    provider closed while someone still holds it keeps working (and is closed again by whoever manages it).
    """

    def __init__(self, endpoint: Endpoint, settings: LLMSettings, outbound: OutboundPolicy | None = None) -> None:
        self.endpoint = endpoint
        self._timeout = settings.timeout_seconds
        self._max_retries = settings.max_retries
        self._outbound = None if endpoint.trusted else (outbound or OutboundPolicy())
        self._client: openai.AsyncOpenAI | None = None
        # Set once the server has refused `json_schema` and accepted `json_object`, to skip the doomed attempt.
        self._json_object_only = False

    @property
    def model(self) -> str:
        return self.endpoint.model

    @property
    def is_open(self) -> bool:
        return self._client is not None

    def _openai(self) -> openai.AsyncOpenAI:
        if self._client is None:
            http_client: httpx2.AsyncClient | None = None
            timeout: float | httpx2.Timeout = self._timeout
            if self._outbound is not None:
                http_client = guarded_client(self._outbound, timeout=self._timeout)
                timeout = httpx2.Timeout(self._timeout, connect=self._outbound.connect_timeout)
            self._client = openai.AsyncOpenAI(
                base_url=self.endpoint.base_url,
                # The SDK insists on a key; local servers (Ollama, vLLM) ignore it.
                api_key=self.endpoint.api_key or "none",
                timeout=timeout,
                max_retries=self._max_retries,
                http_client=http_client,
            )
        return self._client

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
        except (openai.OpenAIError, OutboundRefused, ResponseRefused) as exc:
            raise self._translate(exc) from exc
        # The SDK hands back the text of a response that is not JSON, and builds a JSON one without validating it.
        choices = getattr(response, "choices", None) if isinstance(response, ChatCompletion) else None
        if not isinstance(choices, list) or not choices:
            raise self._invalid(response)
        choice = choices[0]
        text = getattr(getattr(choice, "message", None), "content", None) or ""
        if not isinstance(text, str):
            raise self._invalid(response)
        usage = _usage(getattr(response, "usage", None)) or Usage(
            approximate_prompt_tokens(messages), approximate_tokens(text)
        )
        model = getattr(response, "model", None)
        model = model if isinstance(model, str) and model else self.model
        finish_reason = getattr(choice, "finish_reason", None)
        return Completion(
            text=text,
            model=model,
            usage=usage,
            finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        )

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
        chunks_seen = 0
        try:
            chunks = await self._openai().chat.completions.create(
                model=self.model,
                messages=_messages(messages),
                max_tokens=_given(max_tokens),
                temperature=_given(temperature),
                stream=True,
                stream_options={"include_usage": True},
            )
            async with chunks:
                async for chunk in chunks:
                    choices = getattr(chunk, "choices", None) if isinstance(chunk, ChatCompletionChunk) else None
                    if not isinstance(choices, list):
                        raise self._invalid(chunk)
                    chunks_seen += 1
                    usage = _usage(getattr(chunk, "usage", None)) or usage
                    if not choices:
                        continue
                    choice = choices[0]
                    if isinstance(getattr(choice, "finish_reason", None), str):
                        finish_reason = choice.finish_reason
                    content = getattr(getattr(choice, "delta", None), "content", None)
                    if content and isinstance(content, str):
                        pieces.append(content)
                        yield Delta(text=content)
        except (openai.OpenAIError, OutboundRefused, ResponseRefused) as exc:
            raise self._translate(exc) from exc
        except ValueError as exc:  # an event whose data is not JSON
            raise self._invalid(None) from exc
        if not chunks_seen:
            # What an HTML page (or any body without server-sent events) comes to.
            raise self._invalid(None)
        if usage is None:
            usage = Usage(approximate_prompt_tokens(messages), approximate_tokens("".join(pieces)))
        yield Delta(usage=usage, finish_reason=finish_reason)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def _create(
        self,
        messages: Sequence[Message],
        max_tokens: int | None,
        temperature: float | None,
        response_format: ResponseFormatJSONSchema | ResponseFormatJSONObject | None = None,
    ) -> ChatCompletion:
        return await self._openai().chat.completions.create(
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

    def _translate(self, exc: Exception) -> FolioError:
        if isinstance(exc, OutboundRefused):
            log.warning("llm_endpoint_refused", endpoint=self.endpoint.host, reason=exc.reason)
            return LLMEndpointForbidden(
                f"{self._where} is not called: its host is, or resolves to, an internal address "
                "(FOLIO_OUTBOUND__ALLOW_PRIVATE lets a self-hosted deployment call one)."
            )
        if isinstance(exc, ResponseRefused):
            log.warning("llm_response_refused", endpoint=self.endpoint.host, reason=str(exc))
            return LLMInvalidResponse(f"{self._where} answered with too large or an unexpected response.")
        if isinstance(exc, openai.APITimeoutError):
            return LLMTimeout(f"{self._where} did not answer within {self._timeout:g} s.")
        if isinstance(exc, openai.APIConnectionError):
            return LLMUnavailable(f"{self._where} could not be reached.")
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
        log.warning(
            "llm_upstream_error", endpoint=self.endpoint.host, status=status, upstream=self._upstream_message(exc)
        )
        if isinstance(exc, openai.RateLimitError):
            return LLMRateLimited(
                f"{self._where} is rate-limiting requests.", retry_after=retry_after_seconds(exc.response.headers)
            )
        if status is not None:
            # A 4xx other than 429 is the server's configuration (key, model name), not the Folio client's mistake.
            return LLMUnavailable(f"{self._where} answered {status}.", details={"upstream_status": status})
        return LLMUnavailable(f"{self._where} failed.")

    def _invalid(self, response: object) -> LLMInvalidResponse:
        sample = response if isinstance(response, str) else repr(response)
        log.warning("llm_invalid_response", endpoint=self.endpoint.host, upstream=self._masked(sample))
        return LLMInvalidResponse(f"{self._where} did not answer with a chat completion.")

    def _upstream_message(self, exc: Exception) -> str:
        body = getattr(exc, "body", None)
        message = body.get("message") if isinstance(body, dict) else None
        return self._masked(message if isinstance(message, str) and message else str(exc) or type(exc).__name__)

    def _masked(self, text: str) -> str:
        text = text[: _MAX_UPSTREAM_MESSAGE * 2]
        if self.endpoint.api_key:
            text = text.replace(self.endpoint.api_key, "***")
        text = _KEY_LIKE.sub("***", text)
        return text if len(text) <= _MAX_UPSTREAM_MESSAGE else text[: _MAX_UPSTREAM_MESSAGE - 1] + "…"


def _usage(reported: object) -> Usage | None:
    prompt = getattr(reported, "prompt_tokens", None)
    completion = getattr(reported, "completion_tokens", None)
    if isinstance(prompt, int) and isinstance(completion, int):
        return Usage(prompt, completion)
    return None


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
