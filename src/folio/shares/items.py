"""What members can share, one `ItemKind` per type: how an item is found as a member (whose own rules of
visibility apply), whether another member may read it, and where members read it.

Adding a type takes a kind here, its entry in `ITEMS`, and its value and foreign-key column in
`folio.models.share` (with a migration adding the column and widening the `one_item` check).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from folio.answers import chats_service as chats
from folio.answers.errors import ChatNotFound
from folio.answers.schemas import ChatDetail, ChatMessageRead, ChatRead
from folio.auth.principal import Principal, Scope
from folio.cases import service as cases
from folio.cases.errors import CaseNotFound, ViewNotFound
from folio.cases.views import service as views
from folio.cases.views.schemas import ViewRead
from folio.cases.workflow import case_number
from folio.documents import service as documents
from folio.documents.errors import DocumentNotFound
from folio.errors import Forbidden
from folio.events.schemas import SubjectType
from folio.models import Document, ShareItemType
from folio.schemas import API_V1
from folio.shares.errors import ShareItemNotFound
from folio.summaries import service as summaries
from folio.summaries.errors import SummaryNotFound


@dataclass(frozen=True, slots=True)
class Item:
    type: ShareItemType
    id: UUID
    title: str
    # Documents whose text the item repeats (a chat's citations): its reader must be able to read each of them.
    quotes: frozenset[UUID] = field(default_factory=frozenset)
    # A case's business unit (None: of none), which decides who is notified of it.
    unit_id: UUID | None = None


class ItemKind:
    type: ClassVar[ShareItemType]
    # What a principal needs to read an item of the kind, besides seeing it.
    scope: ClassVar[Scope]
    # What inbox notifications of a share point to; None: the share itself (the item is readable only through it).
    subject: ClassVar[SubjectType | None]

    async def find(self, session: AsyncSession, principal: Principal, item_id: UUID) -> Item | None:
        """The item as `principal` sees it through its own domain; None when it may not read it."""
        raise NotImplementedError

    async def load(self, session: AsyncSession, principal: Principal, item_id: UUID) -> Item:
        if not principal.has(self.scope):
            raise Forbidden(f"This needs the {self.scope} scope.", details={"missing_scopes": [self.scope.value]})
        item = await self.find(session, principal, item_id)
        if item is None:
            raise ShareItemNotFound(details={"item_type": self.type.value, "item_id": str(item_id)})
        return item

    async def readable_by(self, session: AsyncSession, principal: Principal, item: Item) -> bool:
        """Whether another member may read `item` (found as its sharer): by default, if they find it themselves."""
        return principal.has(self.scope) and await self.find(session, principal, item.id) is not None

    def path(self, item_id: UUID) -> str | None:
        """Where members read the item; None: only through the share (`view`)."""
        return None

    async def view(self, session: AsyncSession, owner: Principal, item_id: UUID) -> BaseModel | None:
        """The read-only view of an item readable only through its shares (`path` None), loaded as its owner."""
        return None


async def _document(session: AsyncSession, principal: Principal, document_id: UUID) -> Document | None:
    try:
        return await documents.get_document(session, principal=principal, document_id=document_id)
    except DocumentNotFound:
        return None


class DocumentKind(ItemKind):
    type = ShareItemType.DOCUMENT
    scope = Scope.DOCUMENTS_READ
    subject = SubjectType.DOCUMENT

    async def find(self, session: AsyncSession, principal: Principal, item_id: UUID) -> Item | None:
        document = await _document(session, principal, item_id)
        return None if document is None else Item(self.type, document.id, document.title)

    def path(self, item_id: UUID) -> str:
        return f"{API_V1}/documents/{item_id}"


class SummaryKind(ItemKind):
    type = ShareItemType.SUMMARY
    scope = Scope.DOCUMENTS_READ
    subject = SubjectType.SUMMARY

    async def find(self, session: AsyncSession, principal: Principal, item_id: UUID) -> Item | None:
        try:
            summary = await summaries.get_summary(session, principal=principal, summary_id=item_id)
        except SummaryNotFound:
            return None
        document = await _document(session, principal, summary.document_id)
        return None if document is None else Item(self.type, summary.id, f"Summary of {document.title}")

    def path(self, item_id: UUID) -> str:
        return f"{API_V1}/summaries/{item_id}"


class CaseKind(ItemKind):
    type = ShareItemType.CASE
    scope = Scope.CASES_READ
    subject = SubjectType.CASE

    async def find(self, session: AsyncSession, principal: Principal, item_id: UUID) -> Item | None:
        try:
            record, document = await cases.find(session, principal=principal, key=item_id)
        except CaseNotFound:
            return None
        return Item(
            self.type, record.document_id, f"{case_number(record.number)} {document.title}", unit_id=record.unit_id
        )

    def path(self, item_id: UUID) -> str:
        return f"{API_V1}/cases/{item_id}"


class ChatKind(ItemKind):
    """A chat is its starter's alone: a share lets its recipients read that one chat, through the share. As the
    chat repeats passages of the documents it cites, a recipient must be able to read every one of them."""

    type = ShareItemType.CHAT
    scope = Scope.ANSWERS
    subject = None

    async def find(self, session: AsyncSession, principal: Principal, item_id: UUID) -> Item | None:
        try:
            chat = await chats.get_chat(session, principal=principal, chat_id=item_id)
        except ChatNotFound:
            return None
        cited = {
            UUID(str(citation["document_id"]))
            for message in await chats.messages(session, chat=chat)
            for citation in message.citations
        }
        return Item(self.type, chat.id, chat.title or "Chat", frozenset(cited))

    async def readable_by(self, session: AsyncSession, principal: Principal, item: Item) -> bool:
        if not principal.has(self.scope):
            return False
        for document_id in sorted(item.quotes):
            if await _document(session, principal, document_id) is None:
                return False
        return True

    async def view(self, session: AsyncSession, owner: Principal, item_id: UUID) -> ChatDetail | None:
        try:
            chat = await chats.get_chat(session, principal=owner, chat_id=item_id)
        except ChatNotFound:
            return None
        messages = [ChatMessageRead.model_validate(message) for message in await chats.messages(session, chat=chat)]
        return ChatDetail(**ChatRead.model_validate(chat).model_dump(), messages=messages)


class SavedViewKind(ItemKind):
    """A saved view of the case list, personal or shared: a share hands its filters to its recipients, read through
    the share. Whoever applies them sees only the cases they may see."""

    type = ShareItemType.SAVED_VIEW
    scope = Scope.CASES_READ
    subject = None

    async def find(self, session: AsyncSession, principal: Principal, item_id: UUID) -> Item | None:
        try:
            view = await views.get_view(session, principal=principal, view_id=item_id)
        except ViewNotFound:
            return None
        return Item(self.type, view.id, view.name)

    async def readable_by(self, session: AsyncSession, principal: Principal, item: Item) -> bool:
        return principal.has(self.scope)

    async def view(self, session: AsyncSession, owner: Principal, item_id: UUID) -> ViewRead | None:
        try:
            return ViewRead.model_validate(await views.get_view(session, principal=owner, view_id=item_id))
        except ViewNotFound:
            return None


ITEMS: dict[ShareItemType, ItemKind] = {
    kind.type: kind for kind in (CaseKind(), DocumentKind(), SummaryKind(), ChatKind(), SavedViewKind())
}
