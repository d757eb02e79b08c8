"""OpenAI's chat-completions API over the organization's documents, so that the unmodified `openai` client (and
anything built on it) can ask Folio with `base_url="http://host/v1"` and an API key as the bearer token."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal
from uuid import uuid4

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from folio.answers import service
from folio.answers.chats_service import Turn, standalone_question
from folio.answers.deps import HEARTBEAT, LLM_FAILURES, answerer_for, model_name, with_heartbeats
from folio.answers.schemas import MAX_SOURCES, Citation, UsageRead
from folio.answers.service import Answerer, Event
from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import SessionDep, SettingsDep
from folio.errors import FolioError, Forbidden
from folio.llm.errors import LLMCredentialsUnreadable
from folio.schemas import RequestModel
from folio.search.schemas import SearchFilters

router = APIRouter(prefix="/v1", tags=["openai"])
Asker = Annotated[Principal, requires(Scope.ANSWERS)]


class ContentPart(BaseModel):
    type: str
    text: str | None = None


class ChatCompletionMessage(RequestModel):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return " ".join(part.text for part in self.content if part.type == "text" and part.text)
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatCompletionRequest(RequestModel):
    """OpenAI's request; sampling fields are accepted and left to the server's settings. `filters` and `top_k`
    (Folio's own, sent with the client's `extra_body`) narrow the documents as in `/api/v1/answers`."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [{"model": "folio", "messages": [{"role": "user", "content": "What is the notice period?"}]}]
        },
    )

    model: str = Field(max_length=200, description="Any name: the organization's configured model answers.")
    messages: list[ChatCompletionMessage] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    filters: SearchFilters = Field(default_factory=SearchFilters)
    top_k: int = Field(6, ge=1, le=MAX_SOURCES)

    @field_validator("messages")
    @classmethod
    def _ends_with_a_question(cls, messages: list[ChatCompletionMessage]) -> list[ChatCompletionMessage]:
        if messages[-1].role != "user" or not messages[-1].text().strip():
            raise ValueError("the last message must be the user's question")
        return messages


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


@router.get(
    "/models",
    response_model=ModelList,
    responses=authenticated(Forbidden, LLMCredentialsUnreadable),
    summary="The model that answers (OpenAI-compatible)",
)
async def list_models(request: Request, principal: Asker, session: SessionDep) -> ModelList:
    return ModelList(data=[ModelCard(id=await model_name(request, session, principal))])


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        **authenticated(Forbidden, *LLM_FAILURES),
        200: {
            "description": "The completion's chunks when `stream` is true, then `data: [DONE]`.",
            "content": {
                "text/event-stream": {
                    "schema": {
                        "type": "object",
                        "required": ["data"],
                        "properties": {"data": {"type": "string", "description": "A JSON chunk, or [DONE]."}},
                    }
                }
            },
        },
    },
    summary="Answer from the organization's documents (OpenAI-compatible)",
    description=(
        "The last user message is the question; earlier messages are the conversation it is read against. The "
        "answer is the same as `POST /api/v1/answers` gives, in OpenAI's `chat.completion` format (or its "
        "`chat.completion.chunk` stream ending with `data: [DONE]`), with the citations in an extra `citations` "
        "field (in the last chunk when streaming). Works with the `openai` client: `OpenAI(base_url="
        '"http://host/v1", api_key="<Folio API key>")`.'
    ),
)
async def chat_completions(
    request: Request, body: ChatCompletionRequest, principal: Asker, session: SessionDep, settings: SettingsDep
) -> Any:
    answerer = await answerer_for(request, session, principal, "openai")
    history = [
        Turn(message.role, message.text()) for message in body.messages[:-1] if message.role in ("user", "assistant")
    ]
    question = body.messages[-1].text().strip()
    standalone = await standalone_question(answerer, history, question)
    sources = await service.retrieve(
        session,
        principal=principal,
        question=standalone,
        filters=body.filters,
        top_k=body.top_k,
        answerer=answerer,
        source="openai",
    )
    completion_id, created = f"chatcmpl-{uuid4().hex}", int(time.time())
    if body.stream:
        include_usage = body.stream_options is not None and body.stream_options.include_usage
        chunks = _chunks(
            service.events(answerer, question, sources, stream=True, standalone=standalone),
            answerer,
            completion_id,
            created,
        )
        heartbeats = settings.events.heartbeat_seconds
        return EventSourceResponse(_wire(chunks, include_usage, heartbeats), headers={"Cache-Control": "no-cache"})
    answer = await service.answer(answerer, question, sources, standalone=standalone)
    return ChatCompletion(
        id=completion_id,
        created=created,
        model=answer.model,
        choices=[Choice(message=AssistantMessage(content=answer.answer))],
        usage=answer.usage,
        citations=answer.citations,
    )


async def _chunks(
    events: AsyncIterator[Event], answerer: Answerer, completion_id: str, created: int
) -> AsyncIterator[dict[str, Any]]:
    """The answer's events as `chat.completion.chunk` objects: the role, the text, then the finish with citations
    (the last item, without `choices`, is the usage)."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": answerer.model,
            "choices": [choice],
            **extra,
        }

    yield chunk({"role": "assistant", "content": ""})
    async for event in events:
        if event.name == "delta":
            yield chunk({"content": event.data["text"]})
        elif event.name == "done":
            yield chunk({}, "stop", citations=event.data["citations"])
            yield {**chunk({}), "choices": [], "usage": event.data["usage"]}


async def _wire(
    chunks: AsyncIterator[dict[str, Any]], include_usage: bool, heartbeat_seconds: float
) -> AsyncIterator[bytes]:
    """OpenAI's framing: bare `data:` lines, `[DONE]` at the end; an upstream failure midway is an error object,
    as OpenAI sends one. While the model is silent, a comment line keeps proxies from closing the connection: SSE
    clients (the `openai` SDKs included) skip comments, and with no `id:` or `retry:` ever sent, the blank line
    after one dispatches nothing."""
    try:
        async for item in with_heartbeats(chunks, heartbeat_seconds):
            if item is None:
                yield HEARTBEAT
            elif item["choices"] or include_usage:
                yield f"data: {json.dumps(item)}\n\n".encode()
    except FolioError as error:
        failure = {"error": {"message": error.detail_message, "type": "folio_error", "code": error.code}}
        yield f"data: {json.dumps(failure)}\n\n".encode()
    yield b"data: [DONE]\n\n"
