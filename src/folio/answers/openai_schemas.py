"""OpenAI's chat-completion request and response as Folio serves them.

Every parameter of OpenAI's chat-completion API is named here, so that each one has a clear answer: applied,
accepted without effect, or refused with 400 (`unsupported_parameter`, `unsupported_value`); any other field is
refused as OpenAI refuses it (`unknown_parameter`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from folio.answers.schemas import MAX_SOURCES, Citation, UsageRead
from folio.schemas import RequestModel
from folio.search.schemas import SearchFilters

Identifier = Annotated[str, StringConstraints(max_length=256)]

_NO_TOOLS = "Folio answers from the organization's documents and calls no tools or functions."
_NOT_SUPPORTED = "'{param}' is not supported: {reason}"
_ONLY = "'{param}' may only be {allowed} (or null): {reason}"
# A parameter: whether its value is acceptable, its refusal's code and message, and the message's values.
_REFUSALS: dict[str, tuple[Callable[[Any], bool], str, str, dict[str, str]]] = {
    "n": (lambda n: n in (None, 1), "unsupported_value", _ONLY, {"allowed": "1", "reason": "an answer is one choice."}),
    "tools": (lambda tools: not tools, "unsupported_parameter", _NOT_SUPPORTED, {"reason": _NO_TOOLS}),
    "tool_choice": (
        lambda choice: choice in (None, "none"),
        "unsupported_value",
        _ONLY,
        {"allowed": '"none"', "reason": _NO_TOOLS},
    ),
    "functions": (lambda functions: not functions, "unsupported_parameter", _NOT_SUPPORTED, {"reason": _NO_TOOLS}),
    "function_call": (
        lambda call: call in (None, "none"),
        "unsupported_value",
        _ONLY,
        {"allowed": '"none"', "reason": _NO_TOOLS},
    ),
    "response_format": (
        lambda format: format in (None, {"type": "text"}),
        "unsupported_value",
        _ONLY,
        {"allowed": '{"type": "text"}', "reason": "an answer is text with citations, not JSON."},
    ),
    "logprobs": (
        lambda logprobs: not logprobs,
        "unsupported_value",
        _ONLY,
        {"allowed": "false", "reason": "log probabilities are not returned."},
    ),
    "top_logprobs": (
        lambda top: top is None,
        "unsupported_parameter",
        _NOT_SUPPORTED,
        {"reason": "log probabilities are not returned."},
    ),
    "logit_bias": (
        lambda bias: not bias,
        "unsupported_parameter",
        _NOT_SUPPORTED,
        {"reason": "token biases cannot be applied to answers."},
    ),
    "modalities": (
        lambda modalities: modalities in (None, ["text"]),
        "unsupported_value",
        _ONLY,
        {"allowed": '["text"]', "reason": "answers are text."},
    ),
    "audio": (
        lambda audio: audio is None,
        "unsupported_parameter",
        _NOT_SUPPORTED,
        {"reason": "answers are text, not audio."},
    ),
    "prediction": (
        lambda prediction: prediction is None,
        "unsupported_parameter",
        _NOT_SUPPORTED,
        {"reason": "predicted outputs are not used."},
    ),
    "web_search_options": (
        lambda options: options is None,
        "unsupported_parameter",
        _NOT_SUPPORTED,
        {"reason": "answers come from the organization's documents, not from a web search."},
    ),
    "moderation": (
        lambda moderation: moderation is None,
        "unsupported_parameter",
        _NOT_SUPPORTED,
        {"reason": "moderation is not offered."},
    ),
    "store": (
        lambda store: not store,
        "unsupported_value",
        _ONLY,
        {"allowed": "false", "reason": "Folio keeps no completions for distillation or evals."},
    ),
}
# Shown in the route's description.
REFUSED = ", ".join(f"`{name}`" for name in _REFUSALS)


def _refuse(name: str, value: Any) -> Any:
    acceptable, kind, template, context = _REFUSALS[name]
    if not acceptable(value):
        raise PydanticCustomError(kind, template, {"param": name, **context})
    return value


class ContentPart(RequestModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(max_length=32, description="Only `text`.")
    text: str = ""

    @field_validator("type")
    @classmethod
    def _text_only(cls, kind: str) -> str:
        if kind != "text":
            raise PydanticCustomError(
                "unsupported_value", "Content parts of type '{kind}' are not supported: only text.", {"kind": kind}
            )
        return kind


class ChatCompletionMessage(RequestModel):
    """A message of the conversation. `system` and `developer` messages are accepted and not followed: Folio's own
    instructions answer from the documents. `tool` messages are accepted and left out of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: Identifier | None = None
    refusal: str | None = None
    tool_call_id: Identifier | None = None
    tool_calls: list[Any] | None = Field(None, description="Refused unless empty: " + _NO_TOOLS)
    function_call: Any = Field(None, description="Refused unless null: " + _NO_TOOLS)
    audio: Any = Field(None, description="Refused unless null: answers are text.")
    annotations: list[dict[str, Any]] | None = Field(None, max_length=100, description="Accepted, not read.")

    @field_validator("tool_calls", "function_call", "audio")
    @classmethod
    def _nothing_of_tools_or_audio(cls, value: Any, info: ValidationInfo) -> Any:
        if value:
            reason = "answers are text, not audio." if info.field_name == "audio" else _NO_TOOLS
            raise PydanticCustomError(
                "unsupported_parameter", _NOT_SUPPORTED, {"param": info.field_name, "reason": reason}
            )
        return value

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(part.text for part in self.content if part.text)
        return self.content or ""


class StreamOptions(RequestModel):
    model_config = ConfigDict(extra="forbid")

    include_usage: bool = Field(False, description="Send a last chunk with the usage and no choices.")
    include_obfuscation: bool | None = Field(None, description="Accepted; no obfuscation padding is sent.")


class ChatCompletionRequest(RequestModel):
    """OpenAI's request. Applied: `messages`, `stream`, `stream_options`, `temperature` and `max_tokens` /
    `max_completion_tokens` (with a language model; the offline engine has no sampling). Accepted without effect:
    `top_p`, `presence_penalty`, `frequency_penalty`, `stop`, `seed`, `user`, `metadata`, `store: false`,
    `parallel_tool_calls`, `service_tier`, `reasoning_effort`, `verbosity`, `safety_identifier`,
    `prompt_cache_key`, `prompt_cache_retention`, `prompt_cache_options`. `filters` and `top_k` (Folio's own, sent
    with the client's `extra_body`) narrow the documents as in `/api/v1/answers`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"model": "folio", "messages": [{"role": "user", "content": "What is the notice period?"}]}]
        },
    )

    model: str = Field(max_length=200, description="Any name: the organization's configured model answers.")
    messages: list[ChatCompletionMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = Field(None, description="Only with `stream: true`.")
    temperature: float | None = Field(None, ge=0, le=2, description="Default: the server's (FOLIO_LLM__TEMPERATURE).")
    max_tokens: int | None = Field(
        None, ge=1, description="The answer's longest length, at most the server's FOLIO_LLM__MAX_ANSWER_TOKENS."
    )
    max_completion_tokens: int | None = Field(
        None, ge=1, description="As `max_tokens`, which it takes precedence over."
    )
    top_p: float | None = Field(None, ge=0, le=1, description="Accepted, no effect.")
    presence_penalty: float | None = Field(None, ge=-2, le=2, description="Accepted, no effect.")
    frequency_penalty: float | None = Field(None, ge=-2, le=2, description="Accepted, no effect.")
    stop: (
        Annotated[str, StringConstraints(min_length=1, max_length=256)]
        | list[Annotated[str, StringConstraints(min_length=1, max_length=256)]]
        | None
    ) = Field(None, description="Up to 4 sequences. Accepted, no effect: an answer keeps its citations whole.")
    seed: int | None = Field(None, ge=-(2**63), lt=2**63, description="Accepted, no effect.")
    user: Identifier | None = Field(None, description="Accepted, no effect.")
    safety_identifier: Identifier | None = Field(None, description="Accepted, no effect.")
    prompt_cache_key: Identifier | None = Field(None, description="Accepted, no effect.")
    prompt_cache_retention: Annotated[str, StringConstraints(max_length=32)] | None = None
    prompt_cache_options: dict[str, Annotated[str, StringConstraints(max_length=64)]] | None = Field(
        None, max_length=8, description="Accepted, no effect."
    )
    metadata: (
        dict[Annotated[str, StringConstraints(max_length=64)], Annotated[str, StringConstraints(max_length=512)]] | None
    ) = Field(None, max_length=16, description="Accepted, not stored.")
    service_tier: Annotated[str, StringConstraints(max_length=32)] | None = None
    reasoning_effort: Annotated[str, StringConstraints(max_length=32)] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None
    parallel_tool_calls: bool | None = None
    store: bool | None = Field(None, description="Only false: no completion is kept.")
    n: int | None = Field(None, description="Only 1.")
    logprobs: bool | None = Field(None, description="Only false.")
    top_logprobs: int | None = Field(None, description="Refused.")
    logit_bias: dict[str, int] | None = Field(None, description="Refused unless empty.")
    tools: list[Any] | None = Field(None, description="Refused unless empty: " + _NO_TOOLS)
    tool_choice: Any = Field(None, description='Only "none".')
    functions: list[Any] | None = Field(None, description="Refused unless empty.")
    function_call: Any = Field(None, description='Only "none".')
    response_format: dict[str, Any] | None = Field(None, description='Only {"type": "text"}.')
    modalities: list[str] | None = Field(None, description='Only ["text"].')
    audio: Any = Field(None, description="Refused.")
    prediction: Any = Field(None, description="Refused.")
    web_search_options: Any = Field(None, description="Refused.")
    moderation: Any = Field(None, description="Refused.")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    top_k: int = Field(6, ge=1, le=MAX_SOURCES)

    @field_validator("messages")
    @classmethod
    def _ends_with_a_question(cls, messages: list[ChatCompletionMessage]) -> list[ChatCompletionMessage]:
        if messages[-1].role != "user" or not messages[-1].text().strip():
            raise ValueError("the last message must be the user's question")
        return messages

    @field_validator("stream_options")
    @classmethod
    def _only_when_streaming(cls, options: StreamOptions | None, info: ValidationInfo) -> StreamOptions | None:
        if options is not None and not info.data.get("stream"):
            raise PydanticCustomError(
                "unsupported_value", "'stream_options' is only allowed when 'stream' is true.", {}
            )
        return options

    @field_validator("stop")
    @classmethod
    def _at_most_four(cls, stop: str | list[str] | None) -> str | list[str] | None:
        if isinstance(stop, list) and len(stop) > 4:
            raise ValueError("at most 4 stop sequences")
        return stop

    @field_validator(*_REFUSALS)
    @classmethod
    def _refused(cls, value: Any, info: ValidationInfo) -> Any:
        return _refuse(info.field_name or "", value)

    @property
    def answer_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = "folio"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: UsageRead
    citations: list[Citation] = Field(description="Folio's addition: the sources the answer's [n] markers cite.")


class ChatCompletionStreamEvent(TypedDict):
    """One server-sent event of a streamed completion, in OpenAI's framing: no event name or id, and `data` a
    `chat.completion.chunk` as JSON (the last one with `citations`, then one with `usage` when asked), an error
    object in OpenAI's shape if the model fails midway, and `[DONE]` at the end."""

    data: Annotated[str, Field(description="A JSON chunk, a JSON error, or `[DONE]`.")]
