"""Every job kind, by the name a job row stores as its `kind`. Services enqueue by these names;
`folio.jobs.handlers` and `folio.jobs.periodic` say what runs each one."""

from __future__ import annotations

from typing import Final

# Enqueued by requests and by other jobs.
INGEST_DOCUMENT: Final = "ingest_document"
SUMMARIZE_DOCUMENT: Final = "summarize_document"
IMPORT_RECORDS: Final = "import_records"
ENRICH_DOCUMENTS: Final = "enrich_documents"
WEBHOOK_DELIVER: Final = "webhook.deliver"
WRITE_EXPORT: Final = "exports.write"
RELABEL_CASES: Final = "enrichment.relabel_cases"
SYNC_INTEGRATION: Final = "sync_integration"
PUBLISH_SUMMARY: Final = "publish_summary"

# Enqueued by the scheduler, once per period.
PRUNE_EVENTS: Final = "events.prune"
SWEEP_FILES: Final = "files.sweep"
PRUNE_DELIVERIES: Final = "webhooks.prune"
PRUNE_AUDIT_LOG: Final = "audit.prune"
EVALUATE_ALERTS: Final = "alerts.evaluate"
PRUNE_EXPORTS: Final = "exports.prune"
SEND_PULSE_DIGESTS: Final = "analytics.pulse"
COMPACT_TALLIES: Final = "analytics.compact"
PRUNE_AUTH_FLOWS: Final = "auth.prune_flows"
SCHEDULE_SYNCS: Final = "integrations.schedule"
