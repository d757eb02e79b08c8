"""Chats: multi-turn questions over the documents. Each follow-up is rewritten into a standalone question from the
history before retrieval, and every turn is stored with its citations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.answers.chats_repository import ChatRepository
from folio.answers.errors import ChatNotFound
from folio.answers.schemas import Citation
from folio.answers.service import Answerer
from folio.auth.principal import Principal
from folio.db import new_id, release
from folio.models import Chat, ChatMessage
from folio.pagination import Paged, PageRequest
from folio.search.schemas import SearchFilters, describe_filters

# Turns of history a follow-up is read against.
HISTORY_TURNS = 6
REWRITE_SYSTEM = (
    "Rewrite the user's last question so that it can be understood without the conversation: replace pronouns and "
    "references with what they refer to, keep every name and number. Reply with the rewritten question only; if it "
    "already stands alone, repeat it unchanged."
)
# Without a language model: a short question, or one that points back ("it", "that one"), borrows the previous
# question's words for retrieval.
_REFERRING = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her|there|one|ones|same)\b", re.I)
_SHORT_WORDS = 6


async def create_chat(
    session: AsyncSession, *, principal: Principal, title: str | None, filters: SearchFilters
) -> Chat:
    chat = Chat(
        org_id=principal.org_id,
        user_id=None if principal.api_key_id else principal.user_id,
        api_key_id=principal.api_key_id,
        title=title or "",
        filters=describe_filters(filters),
    )
    await ChatRepository(session).add(chat)
    return chat


async def get_chat(session: AsyncSession, *, principal: Principal, chat_id: UUID) -> Chat:
    chat = await ChatRepository(session).get(principal, chat_id)
    if chat is None:
        raise ChatNotFound()
    return chat


async def page_chats(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[Chat]:
    return await ChatRepository(session).page(principal, page)


async def messages(session: AsyncSession, *, chat: Chat) -> list[ChatMessage]:
    return await ChatRepository(session).messages(chat.id)


async def ask(session: AsyncSession, *, chat: Chat, answerer: Answerer, question: str) -> ChatMessage:
    """Store the user's turn with the standalone question retrieval will use."""
    repository = ChatRepository(session)
    history = await repository.messages(chat.id, last=HISTORY_TURNS)
    await release(session)  # the rewrite is a model call
    standalone = await standalone_question(answerer, history, question)
    if not chat.title:
        chat.title = question[:200]
    return await repository.add_message(
        ChatMessage(chat_id=chat.id, org_id=chat.org_id, role="user", content=question, standalone_question=standalone)
    )


async def record_answer(
    session: AsyncSession,
    *,
    chat_id: UUID,
    org_id: UUID,
    text: str,
    done: dict[str, Any],
    message_id: UUID | None = None,
) -> ChatMessage:
    """Store the assistant's turn as it was answered (`done` is the answer's final event)."""
    usage = done["usage"]
    return await ChatRepository(session).add_message(
        ChatMessage(
            id=message_id or new_id(),
            chat_id=chat_id,
            org_id=org_id,
            role="assistant",
            content=text,
            citations=[Citation.model_validate(citation).model_dump(mode="json") for citation in done["citations"]],
            model=done["model"],
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
        )
    )


async def record_interrupted(
    session: AsyncSession, *, message_id: UUID, chat_id: UUID, org_id: UUID, text: str
) -> None:
    """Store the assistant's turn as far as its stream went, which ended before its `done` event: under the id its
    whole answer would have had, so that it is stored once whichever way the stream ended."""
    await ChatRepository(session).add_interrupted(message_id, chat_id, org_id, text)


@dataclass(frozen=True, slots=True)
class Turn:
    role: str
    content: str
    standalone_question: str | None = None
    interrupted: bool = False


async def standalone_question(answerer: Answerer, history: Sequence[Turn | ChatMessage], question: str) -> str:
    """`question` rewritten to be understood without `history` (the language model's job when there is one)."""
    if not history:
        return question
    if answerer.llm is not None:
        conversation = "\n".join(
            f"{message.role.capitalize()}: {message.content[:1500]}{' [cut off]' if message.interrupted else ''}"
            for message in history
        )
        completion = await answerer.llm.complete(
            [
                {"role": "system", "content": REWRITE_SYSTEM},
                {"role": "user", "content": f"Conversation:\n{conversation}\n\nLast question: {question}"},
            ],
            max_tokens=200,
            temperature=0,
        )
        rewritten = " ".join(completion.text.split())
        return rewritten[:2000] or question
    previous = next((message for message in reversed(history) if message.role == "user"), None)
    if previous is None or (len(question.split()) > _SHORT_WORDS and not _REFERRING.search(question)):
        return question
    return f"{previous.standalone_question or previous.content} {question}"[:2000]
