"""The deployment's periodic jobs: what runs, how often, and the handlers that run it."""

from __future__ import annotations

from datetime import timedelta

from folio.documents.storage import Storage
from folio.documents.tasks import SweepFiles
from folio.events.tasks import prune_events
from folio.jobs.kinds import PRUNE_DELIVERIES, PRUNE_EVENTS, SWEEP_FILES
from folio.jobs.runner import Handler
from folio.jobs.schedule import Periodic
from folio.settings import Settings
from folio.webhooks.tasks import prune_deliveries

HOURLY = timedelta(hours=1)


def periodic_work(settings: Settings, storage: Storage) -> tuple[list[Periodic], dict[str, Handler]]:
    handlers: dict[str, Handler] = {
        PRUNE_EVENTS: prune_events(timedelta(days=settings.events.retention_days)),
        SWEEP_FILES: SweepFiles(storage),
        PRUNE_DELIVERIES: prune_deliveries(timedelta(days=settings.events.retention_days)),
    }
    return [Periodic(kind, HOURLY) for kind in handlers], handlers
