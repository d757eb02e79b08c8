"""The periodic `analytics.pulse` job: each organization with cases gets the digest of the last whole period of
`FOLIO_ANALYTICS__PULSE_DAYS` days once.

The job runs often (hourly) and finds little to do most of the time: an organization is due when it has a case
opened in the period or the one before and no digest row for the period yet. Each organization's figures are read
in a short transaction, its digest written with no connection held, and the digest row, the event and the
notifications committed together; the row's key makes a second worker's or attempt's digest of the same period a
no-op.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from folio.analytics.periods import Period
from folio.analytics.pulse import service
from folio.jobs.runner import JobContext
from folio.llm.registry import LLMRegistry
from folio.settings import Settings
from folio.usage.service import Meter


def _now() -> datetime:
    return datetime.now(UTC)


class SendPulseDigests:
    def __init__(
        self, llm: LLMRegistry, meter: Meter, settings: Settings, *, clock: Callable[[], datetime] = _now
    ) -> None:
        self.llm = llm
        self.meter = meter
        self.days = settings.analytics.pulse_days
        self.temperature = settings.llm.temperature
        self.clock = clock

    async def __call__(self, context: JobContext) -> None:
        if not self.days:
            return
        period = service.digest_period(self.clock(), self.days)
        async with context.sessionmaker() as session:
            org_ids = await service.due(session, period=period)
        sent = 0
        for done, org_id in enumerate(org_ids, 1):
            sent += await self._send(context, org_id, period)
            await context.progress(100 * done / len(org_ids), f"{done} of {len(org_ids)} organizations")
        await context.progress(100, f"sent {sent} pulse digests of {period.start:%Y-%m-%d} to {period.end:%Y-%m-%d}")

    async def _send(self, context: JobContext, org_id: UUID, period: Period) -> bool:
        principal = service.system(org_id)
        async with context.sessionmaker() as session:
            if await service.sent(session, org_id=org_id, period=period):
                return False
            found = await service.figures(session, principal=principal, period=period)
            llm, unusable = await service.model_for(session, principal=principal, registry=self.llm, meter=self.meter)
        pulse = await service.write_digest(found, llm, unusable, temperature=self.temperature, seconds=None)
        async with context.fenced() as session:
            return await service.deliver(session, org_id=org_id, period=period, pulse=pulse)
