"""The periodic `alerts.evaluate` job: spike rules and SLA conditions of every organization that has some, one
transaction per organization (its alerts commit together; one organization's failure leaves the others' done)."""

from __future__ import annotations

from datetime import UTC, datetime

from folio.alerts import evaluation
from folio.jobs.runner import JobContext


async def evaluate_alerts(context: JobContext) -> None:
    async with context.sessionmaker() as session:
        org_ids = await evaluation.periodic_orgs(session)
    for done, org_id in enumerate(org_ids, 1):
        async with context.fenced() as session:
            await evaluation.evaluate_periodic(session, org_id=org_id, now=datetime.now(UTC))
        await context.progress(100 * done / len(org_ids), f"evaluated {done} of {len(org_ids)} organizations")
    await context.progress(100, f"evaluated the spike and SLA rules of {len(org_ids)} organizations")
