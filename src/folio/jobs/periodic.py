"""The deployment's periodic jobs: what runs, how often, and the handlers that run it."""

from __future__ import annotations

from datetime import timedelta

from folio.alerts.tasks import evaluate_alerts
from folio.analytics.tallies import compact_tallies
from folio.audit.tasks import prune_audit_log
from folio.auth.sso.tasks import prune_flows
from folio.documents.storage import Storage
from folio.documents.tasks import SweepFiles
from folio.events.tasks import prune_events
from folio.exports.tasks import PruneExports
from folio.integrations.service import Limits
from folio.integrations.tasks import ScheduleSyncs
from folio.jobs.kinds import (
    COMPACT_TALLIES,
    EVALUATE_ALERTS,
    PRUNE_AUDIT_LOG,
    PRUNE_AUTH_FLOWS,
    PRUNE_DELIVERIES,
    PRUNE_EVENTS,
    PRUNE_EXPORTS,
    SCHEDULE_SYNCS,
    SEND_PULSE_DIGESTS,
    SWEEP_FILES,
)
from folio.jobs.runner import Handler
from folio.jobs.schedule import Periodic
from folio.settings import Settings
from folio.webhooks.tasks import prune_deliveries

HOURLY = timedelta(hours=1)
# The overview sums the tallies' rows written since the last fold: a few thousand at most after a busy while.
COMPACT_EVERY = timedelta(minutes=5)
# Intervals are whole minutes: a sync starts at most a minute after it is due.
SCHEDULE_SYNCS_EVERY = timedelta(minutes=1)


def periodic_work(settings: Settings, storage: Storage) -> tuple[list[Periodic], dict[str, Handler]]:
    handlers: dict[str, Handler] = {
        PRUNE_EVENTS: prune_events(timedelta(days=settings.events.retention_days)),
        SWEEP_FILES: SweepFiles(storage),
        PRUNE_DELIVERIES: prune_deliveries(timedelta(days=settings.events.retention_days)),
        PRUNE_AUDIT_LOG: prune_audit_log(timedelta(days=settings.audit.retention_days)),
        PRUNE_EXPORTS: PruneExports(storage),
        PRUNE_AUTH_FLOWS: prune_flows(),
    }
    periodics = [Periodic(kind, HOURLY) for kind in handlers]
    handlers[EVALUATE_ALERTS] = evaluate_alerts
    periodics.append(Periodic(EVALUATE_ALERTS, timedelta(seconds=settings.alerts.evaluate_seconds)))
    handlers[COMPACT_TALLIES] = compact_tallies
    periodics.append(Periodic(COMPACT_TALLIES, COMPACT_EVERY))
    handlers[SCHEDULE_SYNCS] = ScheduleSyncs(Limits(settings.integrations, settings.plans, settings.jobs.max_attempts))
    periodics.append(Periodic(SCHEDULE_SYNCS, SCHEDULE_SYNCS_EVERY))
    if settings.analytics.pulse_days:
        # Its handler is built with the models (`folio.jobs.handlers`); each run sends what is due, once per period.
        periodics.append(Periodic(SEND_PULSE_DIGESTS, HOURLY))
    return periodics, handlers
