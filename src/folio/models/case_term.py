from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import ForeignKey, Integer, PrimaryKeyConstraint, Text
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base


class CaseTerm(Base):
    """How many of an organization's cases opened on a UTC day contain a lexeme of the full-text index: the daily
    rollup that trending sums over its windows.

    A case counts once per lexeme however many of its chunks hold it. Changed in the same transaction that makes a
    case's text live, replaces it or deletes it (`folio.search.repository`), and by a trigger when a case's
    `opened_at` moves to another day. Only lexemes `is_case_term()` keeps (no numbers, e-mail addresses, paths,
    nor lexemes shorter than 3 or longer than 32 characters) are counted.
    """

    __tablename__ = "case_terms"
    # `cases` in the key's index: a window's sums are read from the index alone.
    __table_args__ = (PrimaryKeyConstraint("org_id", "day", "lexeme", postgresql_include=["cases"]),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    day: Mapped[date]
    lexeme: Mapped[str] = mapped_column(Text)
    cases: Mapped[int] = mapped_column(Integer)
    # The case that last added the lexeme on that day: a candidate example, checked when read (it may have been
    # deleted or re-imported without the word since).
    example: Mapped[UUID]
