from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin


class ShareItemType(StrEnum):
    CASE = "case"
    DOCUMENT = "document"
    SUMMARY = "summary"
    CHAT = "chat"
    SAVED_VIEW = "saved_view"


# The column of `Share` (and of `ShareLink`, for the types a link can publish) that holds an item of each type:
# a foreign key per type, so deleting an item deletes its shares and links with it.
ITEM_COLUMNS: dict[ShareItemType, str] = {
    ShareItemType.CASE: "record_id",
    ShareItemType.DOCUMENT: "document_id",
    ShareItemType.SUMMARY: "summary_id",
    ShareItemType.CHAT: "chat_id",
    ShareItemType.SAVED_VIEW: "saved_view_id",
}


class OneItem:
    """A row holding one item in the column of its type (the others are NULL)."""

    @property
    def item_type(self) -> ShareItemType:
        return next(type for type, column in ITEM_COLUMNS.items() if getattr(self, column, None) is not None)

    @property
    def item_id(self) -> UUID:
        item_id: UUID = getattr(self, ITEM_COLUMNS[self.item_type])
        return item_id


class Share(OneItem, IdMixin, CreatedAtMixin, Base):
    """A member pointing colleagues (its recipients) to an item, with a note: it lands in their inboxes."""

    __tablename__ = "shares"
    __table_args__ = (
        CheckConstraint(
            "num_nonnulls(record_id, document_id, summary_id, chat_id, saved_view_id) = 1", name="one_item"
        ),
        Index("ix_shares_org_id_id", "org_id", "id"),
        Index("ix_shares_created_by_id", "created_by", "id"),
        Index("ix_shares_record_id", "record_id"),
        Index("ix_shares_document_id", "document_id"),
        Index("ix_shares_summary_id", "summary_id"),
        Index("ix_shares_chat_id", "chat_id"),
        Index("ix_shares_saved_view_id", "saved_view_id"),
    )

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    created_by: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    record_id: Mapped[UUID | None] = mapped_column(ForeignKey("records.document_id", ondelete="CASCADE"))
    document_id: Mapped[UUID | None] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    summary_id: Mapped[UUID | None] = mapped_column(ForeignKey("summaries.id", ondelete="CASCADE"))
    chat_id: Mapped[UUID | None] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    saved_view_id: Mapped[UUID | None] = mapped_column(ForeignKey("saved_views.id", ondelete="CASCADE"))
    # The item's title when it was shared, for lists and notifications (the item itself may be renamed later).
    item_title: Mapped[str] = mapped_column(String(500))
    note: Mapped[str] = mapped_column(String(1000), default="", server_default="")


class ShareRecipient(Base):
    __tablename__ = "share_recipients"
    __table_args__ = (Index("ix_share_recipients_user_id_share_id", "user_id", "share_id"),)

    share_id: Mapped[UUID] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
