from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import ForeignKey, Integer, PrimaryKeyConstraint, Text
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base


class CaseUnitTerm(Base):
    """`CaseTerm` per business unit, for members limited to units and for the unit filter (cases of no unit are
    only in `CaseTerm`).

    A case's rows follow it when it moves to another unit: a trigger on `records` subtracts its live lexemes from
    the old unit and adds them to the new one. `unit_id` has no foreign key: that trigger empties a deleted unit's
    rows as its cases lose their unit.
    """

    __tablename__ = "case_unit_terms"
    __table_args__ = (PrimaryKeyConstraint("org_id", "unit_id", "day", "lexeme", postgresql_include=["cases"]),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    unit_id: Mapped[UUID]
    day: Mapped[date]
    lexeme: Mapped[str] = mapped_column(Text)
    cases: Mapped[int] = mapped_column(Integer)
    example: Mapped[UUID]
