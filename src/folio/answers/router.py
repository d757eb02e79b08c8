from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request

from folio.answers import service
from folio.answers.deps import ANSWER_EVENTS, LLM_FAILURES, answerer_for, sse
from folio.answers.schemas import AnswerRequest, AnswerResponse
from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, SessionDep, SettingsDep
from folio.errors import Forbidden
from folio.routing import Router

router = Router(prefix=f"{API_V1}/answers", tags=["answers"])
Asker = Annotated[Principal, requires(Scope.ANSWERS)]

_SSE_DESCRIPTION = (
    "With `stream: true`, `text/event-stream` events: `sources` (the numbered passages), then `delta` events with "
    "`{text}` as the answer is written, then `done` with `{answered, citations, model, usage}`; or `error` with "
    "`{code, message}` if the language model fails midway."
)


@router.post(
    "",
    response_model=AnswerResponse,
    responses={
        **authenticated(Forbidden, *LLM_FAILURES),
        200: ANSWER_EVENTS,
    },
    summary="Answer a question from the organization's documents, with citations",
    description=(
        "Retrieves passages by hybrid search (with the same filters as `/search`), then answers from them only: "
        "with the organization's language model when one is configured, else with the offline extractive engine "
        "(model `folio-extractive`: the answer is the sources' most relevant sentences, quoted). Every claim cites "
        "its source as `[n]`; `citations` gives, for each passage quoted, its marker, document and chunk, the page "
        "it is on (and the last page when it runs onto another) and its offsets in the document's content "
        "(`GET /api/v1/documents/{id}/content`), so that a client can highlight it. When no passage is relevant "
        "the answer says so and no model is called. " + _SSE_DESCRIPTION
    ),
)
async def answer(
    request: Request, body: AnswerRequest, principal: Asker, session: SessionDep, settings: SettingsDep
) -> Any:
    answerer = await answerer_for(request, session, principal, "answer")
    sources = await service.retrieve(
        session,
        principal=principal,
        question=body.question,
        filters=body.filters,
        top_k=body.top_k,
        answerer=answerer,
    )
    if body.stream:
        return sse(
            service.events(answerer, body.question, sources, stream=True),
            heartbeat_seconds=settings.events.heartbeat_seconds,
        )
    return await service.answer(answerer, body.question, sources)
