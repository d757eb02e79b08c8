"""The job kinds a deployment runs, by name, with what they need. API and worker processes build the same table."""

from __future__ import annotations

from folio.analytics.pulse.tasks import SendPulseDigests
from folio.documents.storage import Storage
from folio.embeddings.factory import LazyProvider
from folio.enrichment.tasks import EnrichDocuments, EnrichmentRunner, Limits, relabel_cases
from folio.exports.tasks import WriteExport
from folio.ingestion.tasks import Ingestion
from folio.integrations.publish import PublishSummary
from folio.integrations.sources import Sources
from folio.integrations.tasks import SyncIntegration
from folio.jobs.kinds import (
    ENRICH_DOCUMENTS,
    IMPORT_RECORDS,
    INGEST_DOCUMENT,
    PUBLISH_SUMMARY,
    RELABEL_CASES,
    SEND_PULSE_DIGESTS,
    SUMMARIZE_DOCUMENT,
    SYNC_INTEGRATION,
    WEBHOOK_DELIVER,
    WRITE_EXPORT,
)
from folio.jobs.runner import Handler
from folio.llm.registry import LLMRegistry
from folio.records.tasks import RecordImport
from folio.settings import Settings
from folio.summaries.tasks import Summarization
from folio.usage.service import Meter
from folio.webhooks.config import WebhookConfig
from folio.webhooks.tasks import DeliverWebhook


def build_handlers(
    settings: Settings, storage: Storage, embedder: LazyProvider, llm: LLMRegistry, meter: Meter
) -> dict[str, Handler]:
    enrichment = EnrichmentRunner(
        llm, embedder.get, settings.enrichment, meter, Limits(settings.enrichment.concurrency)
    )
    return {
        INGEST_DOCUMENT: Ingestion(
            settings.ingestion, storage, embedder.get, meter, text_search_config=settings.search.text_search_config
        ),
        SUMMARIZE_DOCUMENT: Summarization(llm, embedder.get, settings.llm, meter),
        IMPORT_RECORDS: RecordImport(
            settings.records,
            settings.ingestion,
            storage,
            embedder.get,
            meter,
            enrichment,
            text_search_config=settings.search.text_search_config,
        ),
        ENRICH_DOCUMENTS: EnrichDocuments(enrichment),
        RELABEL_CASES: relabel_cases,
        WEBHOOK_DELIVER: DeliverWebhook(WebhookConfig.from_settings(settings)),
        WRITE_EXPORT: WriteExport(settings.exports, storage, embedder.get, settings.search),
        SYNC_INTEGRATION: SyncIntegration(Sources(settings), storage, settings),
        PUBLISH_SUMMARY: PublishSummary(Sources(settings)),
        # Periodic (`folio.jobs.periodic`), but it needs the models and the meter.
        SEND_PULSE_DIGESTS: SendPulseDigests(llm, meter, settings),
    }
