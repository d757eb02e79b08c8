from __future__ import annotations

from uuid import UUID

from sqlalchemy import BigInteger, Identity, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from folio.db import Base


class DocumentTally(Base):
    """A change of an organization's document counts (documents, their chunks and stored bytes) in one business
    unit (none: documents that are not cases, and cases of no unit), kind and status: an organization's figures are
    the sums of its rows.

    Written only by triggers on `documents` and `records` (migration `e6c7a3f40d01`), which append a row for each
    change so that no writer waits on a counter; `compact_document_tallies()` (a periodic job) folds the rows into
    one per unit, kind and status, and `rebuild_document_tallies()` counts them afresh.
    """

    __tablename__ = "document_tallies"
    __table_args__ = (
        Index(
            "ix_document_tallies_org_id",
            "org_id",
            "unit_id",
            "kind",
            "status",
            postgresql_include=["documents", "chunks", "bytes"],
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    org_id: Mapped[UUID]
    unit_id: Mapped[UUID | None]
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32))
    documents: Mapped[int] = mapped_column(BigInteger)
    chunks: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
