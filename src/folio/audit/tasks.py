"""The audit log's retention: entries older than `FOLIO_AUDIT__RETENTION_DAYS` are deleted by a periodic job."""

from __future__ import annotations

from datetime import timedelta

from folio.audit.repository import delete_entries_before
from folio.jobs.retention import Prune


def prune_audit_log(retention: timedelta) -> Prune:
    """The periodic `audit.prune` job."""
    return Prune("audit log entries", retention, delete_entries_before)
