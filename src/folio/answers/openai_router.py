"""OpenAI's API over the organization's documents, so that the unmodified `openai` client (and anything built on it)
works with `base_url="http://host/v1"` and an API key as the bearer token: chat completions answered from the
documents, embeddings by the server's embedding model, and the models. Errors are in OpenAI's shape
(`folio.answers.openai_route`)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import uuid4

import anyio.to_thread
import structlog
from fastapi import Path, Request, Response
from fastapi.sse import EventSourceResponse
from starlette.convertors import PathConvertor, register_url_convertor

from folio.answers import openai_embeddings, service
from folio.answers.chats_service import Turn, standalone_question
from folio.answers.deps import HEARTBEAT, LLM_FAILURES, answerer_for, model_name, with_heartbeats
from folio.answers.openai_embedding_schemas import MAX_INPUTS, EmbeddingList, EmbeddingRequest, encoded
from folio.answers.openai_embeddings import MAX_REQUEST_TOKENS, EmbeddingModel
from folio.answers.openai_errors import ModelNotFound, error_object, refused
from folio.answers.openai_route import OpenAIRoute, openai_responses
from folio.answers.openai_schemas import (
    REFUSED,
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    ChatCompletionStreamEvent,
    Choice,
    ModelCard,
    ModelList,
)
from folio.answers.service import Answerer, Event
from folio.auth.deps import requires
from folio.auth.principal import Principal, Scope
from folio.deps import EmbedderDep, MeterDep, SessionDep, SettingsDep
from folio.errors import FolioError, Forbidden, InternalError, MethodNotAllowed, NotFound
from folio.llm.errors import LLMCredentialsUnreadable
from folio.openapi import event_stream
from folio.routing import Router

log = structlog.get_logger(__name__)


class _AnyText(PathConvertor):
    """`path`, across line breaks too: a URL with `%0A` in it still reaches these routes (404 in OpenAI's shape)."""

    regex = r"[\s\S]*"


register_url_convertor("any_text", _AnyText())
router = Router(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)
Asker = Annotated[Principal, requires(Scope.ANSWERS)]

_REFUSAL_EXAMPLES = (
    refused("unsupported_parameter", "'tools' is not supported: Folio calls no tools or functions.", "tools"),
    refused("extra_forbidden", "Extra inputs are not permitted", "foo"),
)


@router.get(
    "/models",
    response_model=ModelList,
    responses=openai_responses(Forbidden, LLMCredentialsUnreadable),
    summary="The models: the one that answers, and the embedding model (OpenAI-compatible)",
)
async def list_models(request: Request, principal: Asker, session: SessionDep, settings: SettingsDep) -> ModelList:
    embedding = EmbeddingModel.configured(settings.embeddings)
    return ModelList(data=[ModelCard(id=await model_name(request, session, principal)), ModelCard(id=embedding.id)])


@router.get(
    "/models/{model:any_text}",
    response_model=ModelCard,
    responses=openai_responses(Forbidden, LLMCredentialsUnreadable, ModelNotFound),
    summary="One model (OpenAI-compatible)",
    description="The model that answers chat completions, or the embedding model (also by one of its aliases); "
    "any other id answers 404 `MODEL_NOT_FOUND`.",
)
async def get_model(
    request: Request,
    model: Annotated[str, Path(min_length=1, max_length=200, description="A model id, as `GET /v1/models` lists.")],
    principal: Asker,
    session: SessionDep,
    settings: SettingsDep,
) -> ModelCard:
    embedding = EmbeddingModel.configured(settings.embeddings)
    if embedding.answers_to(model):
        return ModelCard(id=embedding.id)
    if model == await model_name(request, session, principal):
        return ModelCard(id=model)
    raise ModelNotFound(model)


@router.post(
    "/embeddings",
    response_model=EmbeddingList,
    responses=openai_responses(Forbidden, ModelNotFound, refusals=_REFUSAL_EXAMPLES[:1]),
    summary="Embed texts with the server's embedding model (OpenAI-compatible)",
    description=(
        "The vectors the server indexes documents with (the local all-MiniLM-L6-v2 by default: 384 dimensions, "
        "unit length), in OpenAI's `list` of `embedding` objects; `usage` counts the inputs' tokens, recorded as "
        f"usage of kind `embedding`. Bounds: {MAX_INPUTS} inputs, each at most the model's longest input (256 "
        f"tokens for the local model: longer text is refused, not cut), {MAX_REQUEST_TOKENS:,} tokens together; "
        "a few requests of an organization at once (more answer 429 with Retry-After). Token-id arrays are "
        "refused (the model has its own tokenizer), and so is a `dimensions` other than the model's."
    ),
)
async def create_embeddings(
    body: EmbeddingRequest, principal: Asker, settings: SettingsDep, embedder: EmbedderDep, meter: MeterDep
) -> Response:
    model = EmbeddingModel.configured(settings.embeddings)
    model.check(body.model, body.dimensions)
    embedded = await openai_embeddings.embed(
        principal=principal, inputs=body.input, model=model, embedder=embedder, meter=meter
    )
    content = await anyio.to_thread.run_sync(
        lambda: encoded(embedded.vectors, model=model.id, tokens=embedded.tokens, encoding_format=body.encoding_format)
    )
    return Response(content, media_type="application/json")


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        **openai_responses(Forbidden, *LLM_FAILURES, refusals=_REFUSAL_EXAMPLES),
        200: {
            "description": "The completion's chunks when `stream` is true, then `data: [DONE]`.",
            "content": {"text/event-stream": event_stream("ChatCompletionStreamEvent", ChatCompletionStreamEvent)},
        },
    },
    summary="Answer from the organization's documents (OpenAI-compatible)",
    description=(
        "The last user message is the question; earlier messages are the conversation it is read against. The "
        "answer is the same as `POST /api/v1/answers` gives, in OpenAI's `chat.completion` format (or its "
        "`chat.completion.chunk` stream ending with `data: [DONE]`), with the citations in an extra `citations` "
        "field (in the last chunk when streaming). Works with the `openai` client: `OpenAI(base_url="
        '"http://host/v1", api_key="<Folio API key>")`.\n\n'
        "Applied: `temperature` and `max_tokens` / `max_completion_tokens` (with a language model; at most the "
        "server's longest answer). Accepted without effect: `top_p`, `presence_penalty`, `frequency_penalty`, "
        "`stop`, `seed`, `user`, `metadata`, `parallel_tool_calls`, `service_tier`, `reasoning_effort`, "
        "`verbosity`, `safety_identifier` and the prompt-cache fields. Refused with 400 (`unsupported_parameter` "
        f"or `unsupported_value`, `param` naming it) unless null or their neutral value: {REFUSED}; also content "
        "parts other than text, and `stream_options` without `stream`. Out-of-range values are refused "
        "(temperature 0–2, top_p 0–1, penalties −2–2, max_tokens ≥ 1, at most 4 `stop` sequences), and so is any "
        "field OpenAI's API does not have (`unknown_parameter`), except Folio's `filters` and `top_k`."
    ),
)
async def chat_completions(
    request: Request, body: ChatCompletionRequest, principal: Asker, session: SessionDep, settings: SettingsDep
) -> Any:
    answerer = _sampled(await answerer_for(request, session, principal, "openai"), body)
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


@router.api_route(
    "/{path:any_text}",
    methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    include_in_schema=False,
)
async def unknown_route(request: Request, path: str) -> None:
    """Any other /v1 URL: 404 (405 for a known URL with another method), in OpenAI's shape like the rest."""
    allowed = {
        method
        for route in router.routes
        if isinstance(route, OpenAIRoute) and route.name != "unknown_route" and route.path_regex.match(request.url.path)
        for method in route.methods or ()
    }
    if allowed:
        raise MethodNotAllowed(headers={"Allow": ", ".join(sorted(allowed))})
    raise NotFound(f"Invalid URL ({request.method} /v1/{path}).")


def _sampled(answerer: Answerer, body: ChatCompletionRequest) -> Answerer:
    """The answerer with the request's temperature and answer length, within the server's longest answer."""
    limits = answerer.limits
    changes: dict[str, Any] = {}
    if body.temperature is not None:
        changes["temperature"] = body.temperature
    if body.answer_tokens is not None:
        changes["max_answer_tokens"] = min(body.answer_tokens, limits.max_answer_tokens)
    return dataclasses.replace(answerer, limits=limits.model_copy(update=changes)) if changes else answerer


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
    """OpenAI's framing: bare `data:` lines, `[DONE]` at the end; a failure midway is an error object in OpenAI's
    shape, as OpenAI sends one. While the model is silent, a comment line keeps proxies from closing the
    connection: SSE clients (the `openai` SDKs included) skip comments, and with no `id:` or `retry:` ever sent,
    the blank line after one dispatches nothing."""
    try:
        async for item in with_heartbeats(chunks, heartbeat_seconds):
            if item is None:
                yield HEARTBEAT
            elif item["choices"] or include_usage:
                yield f"data: {json.dumps(item)}\n\n".encode()
    except FolioError as error:
        yield f"data: {json.dumps({'error': error_object(error)})}\n\n".encode()
    except Exception:
        log.exception("openai_stream_failed")
        yield f"data: {json.dumps({'error': error_object(InternalError())})}\n\n".encode()
    yield b"data: [DONE]\n\n"
