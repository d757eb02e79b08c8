"""Cited answers: retrieve passages by hybrid search, then answer from them with the organization's language model
or, without one, with the offline extractive engine. One event sequence serves JSON answers and SSE streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from folio.answers.citations import citation, cite
from folio.answers.prompt import build_messages
from folio.answers.repository import PlacementRepository
from folio.answers.schemas import AnswerResponse, Citation, SourceRead, UsageRead
from folio.auth.principal import Principal
from folio.db import release
from folio.embeddings.provider import EmbeddingProvider
from folio.llm.extractive import NO_ANSWER, ExtractiveEngine, Source
from folio.llm.provider import LLMProvider, Usage
from folio.search import service as search_service
from folio.search.schemas import SearchFilters, SearchMode, SearchRequest
from folio.settings import LLMSettings, SearchSettings

# A passage only the vector side found, and only this loosely, is about something else: MiniLM gives unrelated
# texts cosine similarities of about 0 to 0.15.
MIN_SIMILARITY = 0.15


@dataclass(frozen=True, slots=True)
class Answerer:
    """What answering needs, resolved for the request's organization."""

    embedder: EmbeddingProvider
    llm: LLMProvider | None
    search: SearchSettings
    limits: LLMSettings

    @property
    def model(self) -> str:
        return ExtractiveEngine.model if self.llm is None else self.llm.model


@dataclass(frozen=True, slots=True)
class Event:
    """One step of an answer: `sources`, `delta` (text), `done` (citations, usage) — `error` is the router's."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)


async def retrieve(
    session: AsyncSession,
    *,
    principal: Principal,
    question: str,
    filters: SearchFilters,
    top_k: int,
    answerer: Answerer,
    source: str = "answers",
) -> list[SourceRead]:
    """The passages to answer from, numbered from 1, best first (the search is logged like any other), each placed
    in its document's content so that what the answer quotes from it can be cited by page and offsets."""
    found = await search_service.search(
        session,
        principal=principal,
        request=SearchRequest(query=question[:1000], mode=SearchMode.HYBRID, top_k=top_k, filters=filters),
        embedder=answerer.embedder,
        settings=answerer.search,
        source=source,
    )
    relevant = [
        hit
        for hit in found.items
        if hit.scores.keyword is not None or (hit.scores.vector is not None and hit.scores.vector >= MIN_SIMILARITY)
    ]
    placements = await PlacementRepository(session).placements(principal, [hit.chunk_id for hit in relevant])
    # Answering is slow work: the search log is committed and the connection handed back before it.
    await release(session)
    return [
        SourceRead(
            marker=marker,
            chunk_id=hit.chunk_id,
            document_id=hit.document_id,
            document_title=hit.document_title,
            source_url=hit.source_url,
            page_start=hit.page_start,
            page_end=hit.page_end,
            text=hit.text,
        ).placed(placements.get(hit.chunk_id))
        for marker, hit in enumerate(relevant, 1)
    ]


async def events(
    answerer: Answerer,
    question: str,
    sources: Sequence[SourceRead],
    *,
    stream: bool,
    standalone: str | None = None,
) -> AsyncIterator[Event]:
    """`sources`, then the answer's text in one or more `delta`s, then `done`. No sources: no model is asked.

    In a conversation, `standalone` is the question rewritten to stand alone: the language model answers that; the
    extractive engine answers the question as asked (the rewrite repeats the earlier question, whose sentences
    would win again) and turns to the rewrite only when the question alone finds nothing.
    """
    yield Event("sources", {"sources": [source.model_dump(mode="json") for source in sources]})
    if not sources:
        yield Event("delta", {"text": NO_ANSWER})
        yield _done(answerer.model, NO_ANSWER, [], Usage())
        return
    if answerer.llm is None:
        engine = ExtractiveEngine(answerer.embedder)
        passages = [Source(source.marker, source.text) for source in sources]
        extractive = await engine.answer(question, passages)
        if not extractive.answered and standalone:
            extractive = await engine.answer(standalone, passages)
        text = extractive.text()
        yield Event("delta", {"text": text})
        by_marker = {source.marker: source for source in sources}
        # Every sentence of the answer is a quote, cited where it stands.
        citations = [
            citation(by_marker[sentence.marker], sentence.start, sentence.end) for sentence in extractive.sentences
        ]
        yield _done(answerer.model, text, citations, Usage())
        return
    budget = answerer.limits.context_tokens - answerer.limits.max_answer_tokens
    messages, used = build_messages(standalone or question, sources, budget_tokens=budget)
    max_tokens, temperature = answerer.limits.max_answer_tokens, answerer.limits.temperature
    if stream:
        pieces: list[str] = []
        usage = Usage()
        async for delta in answerer.llm.stream(messages, max_tokens=max_tokens, temperature=temperature):
            if delta.text:
                pieces.append(delta.text)
                yield Event("delta", {"text": delta.text})
            if delta.usage is not None:
                usage = delta.usage
        text = "".join(pieces)
    else:
        completion = await answerer.llm.complete(messages, max_tokens=max_tokens, temperature=temperature)
        text, usage = completion.text, completion.usage
        yield Event("delta", {"text": text})
    yield _done(answerer.llm.model, text, cite(text, used), usage)


async def answer(
    answerer: Answerer, question: str, sources: Sequence[SourceRead], *, standalone: str | None = None
) -> AnswerResponse:
    """The whole answer at once."""
    text: list[str] = []
    async for event in events(answerer, question, sources, stream=False, standalone=standalone):
        if event.name == "delta":
            text.append(event.data["text"])
        elif event.name == "done":
            return AnswerResponse(answer="".join(text), sources=list(sources), **event.data)
    raise AssertionError("an answer always ends with a done event")


def _done(model: str, text: str, citations: list[Citation], usage: Usage) -> Event:
    return Event(
        "done",
        {
            "answered": not text.strip().startswith(NO_ANSWER),
            "citations": [cited.model_dump(mode="json") for cited in citations],
            "model": model,
            "usage": UsageRead(
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                total_tokens=usage.total_tokens,
            ).model_dump(),
        },
    )
