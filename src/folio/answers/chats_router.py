from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import Request, status
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from folio.answers import chats_service as chats
from folio.answers import service
from folio.answers.deps import CHAT_EVENTS, LLM_FAILURES, answerer_for, sse
from folio.answers.errors import ChatNotFound
from folio.answers.schemas import ChatCreate, ChatDetail, ChatMessageRead, ChatRead, MessageAnswer, MessageCreate
from folio.answers.service import Event
from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.db import new_id
from folio.deps import API_V1, PageDep, SessionDep, SessionmakerDep, SettingsDep
from folio.errors import Forbidden
from folio.pagination import Page
from folio.routing import Router
from folio.search.schemas import SearchFilters

log = structlog.get_logger(__name__)

router = Router(prefix=f"{API_V1}/chats", tags=["chats"])
Asker = Annotated[Principal, requires(Scope.ANSWERS)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ChatRead,
    responses=authenticated(Forbidden),
    summary="Start a chat",
    description="A chat is private to whoever starts it: a user, or an API key. Its filters apply to every question.",
)
async def create_chat(body: ChatCreate, principal: Asker, session: SessionDep) -> ChatRead:
    chat = await chats.create_chat(session, principal=principal, title=body.title, filters=body.filters)
    return ChatRead.model_validate(chat)


@router.get(
    "",
    response_model=Page[ChatRead],
    responses=authenticated(Forbidden),
    summary="List your chats, oldest first",
)
async def list_chats(principal: Asker, session: SessionDep, page: PageDep) -> Page[ChatRead]:
    found = await chats.page_chats(session, principal=principal, page=page)
    return found.to_page(ChatRead.model_validate)


@router.get(
    "/{chat_id}",
    response_model=ChatDetail,
    responses=authenticated(Forbidden, ChatNotFound),
    summary="Get a chat with its messages",
)
async def get_chat(chat_id: UUID, principal: Asker, session: SessionDep) -> ChatDetail:
    chat = await chats.get_chat(session, principal=principal, chat_id=chat_id)
    messages = [ChatMessageRead.model_validate(message) for message in await chats.messages(session, chat=chat)]
    return ChatDetail(**ChatRead.model_validate(chat).model_dump(), messages=messages)


@router.post(
    "/{chat_id}/messages",
    response_model=MessageAnswer,
    responses={
        **authenticated(Forbidden, ChatNotFound, *LLM_FAILURES),
        200: CHAT_EVENTS,
    },
    summary="Ask a question in a chat",
    description=(
        "The question is read against the chat's history (a follow-up such as 'and the second one?' is rewritten "
        "into a standalone question, stored as `standalone_question`), answered like `POST /answers` with the "
        "chat's filters, and both turns are stored. With `stream: true` the answer comes as the same events as "
        "`/answers`; `done` also carries `message_id`, the stored assistant turn. A stream that ends before `done` "
        "(the client leaves, the model fails) with some of the answer sent stores that much, marked `interrupted`."
    ),
)
async def post_message(
    request: Request,
    chat_id: UUID,
    body: MessageCreate,
    principal: Asker,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    settings: SettingsDep,
) -> Any:
    chat = await chats.get_chat(session, principal=principal, chat_id=chat_id)
    answerer = await answerer_for(request, session, principal, "chat")
    asked = await chats.ask(session, chat=chat, answerer=answerer, question=body.content)
    standalone = asked.standalone_question or asked.content
    sources = await service.retrieve(
        session,
        principal=principal,
        question=standalone,
        filters=SearchFilters.model_validate(chat.filters),
        top_k=body.top_k,
        answerer=answerer,
        source="chat",
    )
    if body.stream:
        return sse(
            _recorded(
                service.events(answerer, asked.content, sources, stream=True, standalone=standalone),
                sessionmaker,
                chat.id,
                chat.org_id,
            ),
            heartbeat_seconds=settings.events.heartbeat_seconds,
        )
    answer = await service.answer(answerer, asked.content, sources, standalone=standalone)
    reply = await chats.record_answer(
        session, chat_id=chat.id, org_id=chat.org_id, text=answer.answer, done=answer.model_dump(mode="json")
    )
    return MessageAnswer(
        question=ChatMessageRead.model_validate(asked),
        answer=ChatMessageRead.model_validate(reply),
        answered=answer.answered,
        sources=sources,
    )


async def _recorded(
    events: AsyncIterator[Event], sessionmaker: async_sessionmaker[AsyncSession], chat_id: UUID, org_id: UUID
) -> AsyncIterator[Event]:
    """The events, with the assistant's turn stored (in its own transaction) before `done` goes out. A stream that
    ends before `done` with some of the answer sent (its client gone, the model failing) stores that much,
    `interrupted`: the next question is read against it."""
    text: list[str] = []
    reply_id = new_id()
    stored = False
    try:
        async for event in events:
            if event.name == "delta":
                text.append(event.data["text"])
            if event.name == "done":
                async with sessionmaker() as session, session.begin():
                    await chats.record_answer(
                        session,
                        chat_id=chat_id,
                        org_id=org_id,
                        text="".join(text),
                        done=event.data,
                        message_id=reply_id,
                    )
                stored = True
                event = Event("done", {**event.data, "message_id": str(reply_id)})
            yield event
    finally:
        # A client gone cancels this once (see `with_heartbeats`): the store still runs.
        if not stored and text:
            try:
                async with sessionmaker() as session, session.begin():
                    await chats.record_interrupted(
                        session, message_id=reply_id, chat_id=chat_id, org_id=org_id, text="".join(text)
                    )
            except Exception:  # the stream's own ending (its error, its cancellation) is what goes on
                log.exception("interrupted_turn_not_stored", chat_id=str(chat_id))
