"""SQL for chats: every statement is scoped to the chat's owner (a user in person, or an API key)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert

from folio.auth.principal import Principal
from folio.models import Chat, ChatMessage
from folio.repository import ScopedRepository


class ChatRepository(ScopedRepository[Chat]):
    model = Chat

    def scoped(self, principal: Principal) -> Select[Chat]:
        """The chats of the principal in person: its user's, or its API key's."""
        statement = super().scoped(principal)
        if principal.api_key_id is not None:
            return statement.where(Chat.api_key_id == principal.api_key_id)
        return statement.where(Chat.user_id == principal.user_id)

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

    async def add_interrupted(self, message_id: UUID, chat_id: UUID, org_id: UUID, text: str) -> None:
        """An interrupted assistant turn, unless the whole answer is stored under its id (its client left while that
        was being committed: the insert waits for the commit, then does nothing)."""
        turn = {"chat_id": chat_id, "org_id": org_id, "role": "assistant", "content": text, "interrupted": True}
        statement = insert(ChatMessage).values(id=message_id, **turn)
        await self.session.execute(statement.on_conflict_do_nothing(index_elements=[ChatMessage.id]))
