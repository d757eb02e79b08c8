"""SQL for integrations. Request-side statements start from `scoped(principal)`; the sync job and the scheduler
act by id, as the jobs table does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from folio.auth.principal import Principal
from folio.models import Document, Integration, IntegrationSync, SummaryPublication, SyncStatus
from folio.pagination import Paged, PageRequest, encode_cursor
from folio.repository import ScopedRepository


@dataclass(frozen=True, slots=True)
class Held:
    """A document a sync made from an item, as the next sync compares it."""

    document_id: UUID
    version: str | None


class IntegrationRepository(ScopedRepository[Integration]):
    model = Integration

    async def count(self, principal: Principal) -> int:
        statement = select(func.count()).select_from(self.scoped(principal).subquery())
        return int(await self.session.scalar(statement) or 0)

    async def named(self, principal: Principal, name: str) -> Integration | None:
        integration: Integration | None = await self.session.scalar(
            self.scoped(principal).where(Integration.name == name)
        )
        return integration

    async def held(self, integration_id: UUID) -> dict[str, Held]:
        """Every document the integration's syncs made, by the item's id at the source."""
        rows = await self.session.execute(
            select(Document.external_id, Document.id, Document.external_version).where(
                Document.integration_id == integration_id
            )
        )
        return {external_id: Held(document_id, version) for external_id, document_id, version in rows if external_id}

    async def due(self, now: datetime, limit: int) -> Sequence[Integration]:
        """Enabled integrations whose next sync is due, locked so that two schedulers take each once."""
        statement = (
            select(Integration)
            .where(Integration.enabled, Integration.next_sync_at <= now)
            .order_by(Integration.next_sync_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(statement)).all()


class SyncRepository(ScopedRepository[IntegrationSync]):
    model = IntegrationSync

    async def of_job(self, job_id: UUID) -> IntegrationSync | None:
        """The sync a job's earlier attempt started and did not finish, taken up again by this attempt."""
        sync: IntegrationSync | None = await self.session.scalar(
            select(IntegrationSync).where(
                IntegrationSync.job_id == job_id, IntegrationSync.status == SyncStatus.RUNNING
            )
        )
        return sync

    async def page_newest_first(
        self, principal: Principal, integration_id: UUID, page: PageRequest
    ) -> Paged[IntegrationSync]:
        statement = self.scoped(principal).where(IntegrationSync.integration_id == integration_id)
        if page.after is not None:
            statement = statement.where(IntegrationSync.id < page.after)
        rows = (await self.session.scalars(statement.order_by(IntegrationSync.id.desc()).limit(page.limit + 1))).all()
        if len(rows) <= page.limit:
            return Paged(rows, None)
        return Paged(rows[: page.limit], encode_cursor(rows[page.limit - 1].id))


class PublicationRepository(ScopedRepository[SummaryPublication]):
    model = SummaryPublication

    async def of_integration(
        self, principal: Principal, integration_id: UUID, summary_id: UUID | None, limit: int
    ) -> Sequence[SummaryPublication]:
        statement = self.scoped(principal).where(SummaryPublication.integration_id == integration_id)
        if summary_id is not None:
            statement = statement.where(SummaryPublication.summary_id == summary_id)
        return (await self.session.scalars(statement.order_by(SummaryPublication.id).limit(limit))).all()

    async def exists(self, summary_id: UUID, integration_id: UUID, target_id: str) -> bool:
        found = await self.session.scalar(
            select(SummaryPublication.id).where(
                SummaryPublication.summary_id == summary_id,
                SummaryPublication.integration_id == integration_id,
                SummaryPublication.target_id == target_id,
            )
        )
        return found is not None

    async def record(self, **values: Any) -> None:
        """One publication; one already recorded for the same summary, integration and target stays."""
        await self.session.execute(insert(SummaryPublication).values(**values).on_conflict_do_nothing())
