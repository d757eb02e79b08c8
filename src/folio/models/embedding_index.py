from __future__ import annotations

from sqlalchemy import CheckConstraint, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base, CreatedAtMixin


class EmbeddingIndex(CreatedAtMixin, Base):
    """The one embedding model every stored vector comes from; vectors of two models are never compared."""

    __tablename__ = "embedding_index"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    model: Mapped[str] = mapped_column(String(200))
    dimension: Mapped[int] = mapped_column(Integer)
