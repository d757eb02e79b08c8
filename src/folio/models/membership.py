from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, text_enum


class Role(StrEnum):
    """Membership roles, strongest first.

    `bu_manager` manages the members and cases of their business units, `supervisor` assigns, resolves and
    reopens cases in theirs; both otherwise work as editors.
    """

    OWNER = "owner"
    ADMIN = "admin"
    BU_MANAGER = "bu_manager"
    SUPERVISOR = "supervisor"
    EDITOR = "editor"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Role.VIEWER: 0, Role.EDITOR: 1, Role.SUPERVISOR: 2, Role.BU_MANAGER: 3, Role.ADMIN: 4, Role.OWNER: 5}


class Membership(CreatedAtMixin, Base):
    __tablename__ = "memberships"
    __table_args__ = (Index("ix_memberships_user_id", "user_id"),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(text_enum(Role, "role"))
