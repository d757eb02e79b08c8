from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin, IdMixin


class BusinessUnit(IdMixin, CreatedAtMixin, Base):
    """A part of the organization that owns cases (a region, a product line, a team)."""

    __tablename__ = "business_units"
    __table_args__ = (Index("uq_business_units_org_id_name", "org_id", func.lower("name"), unique=True),)

    org_id: Mapped[UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class UnitMembership(Base):
    """A member limited to a business unit: a member with any such row sees only the cases of their units."""

    __tablename__ = "unit_memberships"
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "user_id"],
            ["memberships.org_id", "memberships.user_id"],
            name="fk_unit_memberships_org_id_user_id_memberships",
            ondelete="CASCADE",
        ),
        Index("ix_unit_memberships_unit_id", "unit_id"),
    )

    org_id: Mapped[UUID] = mapped_column(primary_key=True)
    user_id: Mapped[UUID] = mapped_column(primary_key=True)
    unit_id: Mapped[UUID] = mapped_column(ForeignKey("business_units.id", ondelete="CASCADE"), primary_key=True)
