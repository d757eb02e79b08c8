"""Orphaned files: stored files no document, record batch or export refers to are deleted by a periodic job.

They are left behind by uploads whose transaction failed after the file was stored, and by deletions whose
after-commit file removal failed. A file younger than the grace period may belong to an upload that is still
committing, so it is left alone.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, union

from folio.documents.storage import Storage
from folio.jobs.runner import JobContext
from folio.models import Document, Export, RecordBatch

GRACE = timedelta(hours=1)
_STEP = 1000


class SweepFiles:
    def __init__(self, storage: Storage, grace: timedelta = GRACE) -> None:
        self.storage = storage
        self.grace = grace

    async def __call__(self, context: JobContext) -> None:
        keys = await self.storage.stale(self.grace)
        deleted = 0
        for first in range(0, len(keys), _STEP):
            batch = keys[first : first + _STEP]
            async with context.sessionmaker() as session:
                used = set(
                    (
                        await session.scalars(
                            union(
                                select(Document.storage_key).where(Document.storage_key.in_(batch)),
                                select(RecordBatch.storage_key).where(RecordBatch.storage_key.in_(batch)),
                                select(Export.storage_key).where(Export.storage_key.in_(batch)),
                            )
                        )
                    ).all()
                )
            for key in batch:
                if key not in used:
                    await self.storage.delete(key)
                    deleted += 1
        await context.progress(100, f"deleted {deleted} orphaned files of {len(keys)} checked")
