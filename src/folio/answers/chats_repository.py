"""SQL for chats: every statement is scoped to the chat's owner (a user in person, or an API key)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.models import Chat, ChatMessage
from folio.pagination import Paged, PageRequest, paged


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @staticmethod
    def owned(principal: Principal) -> Select[Chat]:
        statement = select(Chat).where(Chat.org_id == principal.org_id)
        if principal.api_key_id is not None:
            return statement.where(Chat.api_key_id == principal.api_key_id)
        return statement.where(Chat.user_id == principal.user_id)

    async def add(self, chat: Chat) -> None:
        self.session.add(chat)
        await self.session.flush()

    async def get(self, principal: Principal, chat_id: UUID) -> Chat | None:
        chat: Chat | None = await self.session.scalar(self.owned(principal).where(Chat.id == chat_id))
        return chat

    async def page(self, principal: Principal, page: PageRequest) -> Paged[Chat]:
        return await paged(self.session, self.owned(principal), Chat.id, page)

    async def messages(self, chat_id: UUID, *, last: int | None = None) -> list[ChatMessage]:
        statement = select(ChatMessage).where(ChatMessage.chat_id == chat_id)
        if last is None:
            return list(await self.session.scalars(statement.order_by(ChatMessage.id)))
        recent = await self.session.scalars(statement.order_by(ChatMessage.id.desc()).limit(last))
        return list(reversed(list(recent)))

    async def add_message(self, message: ChatMessage) -> ChatMessage:
        self.session.add(message)
        await self.session.flush()
        return message
