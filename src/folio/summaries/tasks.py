"""The `summarize_document` job: read the document's live text, write the summary, store it with its usage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from folio.documents.repository import DocumentRepository
from folio.embeddings.provider import EmbeddingProvider
from folio.events.outbox import emit
from folio.events.schemas import EventType, SummaryData
from folio.jobs.errors import Transient, WorkerLost
from folio.jobs.kinds import SUMMARIZE_DOCUMENT
from folio.jobs.runner import JobContext, settled
from folio.llm.errors import PASSING_ERRORS
from folio.llm.registry import LLMRegistry
from folio.models import Summary, SummaryStatus, TemplateKind
from folio.settings import LLMSettings
from folio.summaries import templates
from folio.summaries.repository import SummaryRepository
from folio.summaries.templates_repository import TemplateRepository
from folio.summaries.writer import ExtractiveSummarizer, LLMSummarizer, SummaryRequest, Written
from folio.usage.service import Meter

SUMMARY_USAGE = "summary"


@dataclass(frozen=True, slots=True)
class _Work:
    org_id: UUID
    request: SummaryRequest
    document_version: int


class Summarization:
    """The `summarize_document` job handler: the organization's model when it has one, else sentences picked
    offline."""

    def __init__(
        self, llm: LLMRegistry, embedder: Callable[[], EmbeddingProvider], settings: LLMSettings, meter: Meter
    ) -> None:
        self.llm = llm
        self.embedder = embedder
        self.settings = settings
        self.meter = meter

    async def __call__(self, context: JobContext) -> None:
        work = await self._start(context)
        if work is None:
            return  # deleted, or its document was, since the job was queued

        async def failed(code: str, message: str) -> None:
            await self._set_status(context, SummaryStatus.FAILED, code, message)

        async def cancelled() -> None:
            await self._set_status(context, SummaryStatus.CANCELLED)

        async with settled(context, failed=failed, cancelled=cancelled):
            try:
                written = await self._write(context, work)
            except PASSING_ERRORS as error:
                raise Transient(error) from error
        await self._store(context, work, written)

    async def on_lost(self, context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            await _mark(session, context, SummaryStatus.FAILED, WorkerLost.code, WorkerLost.message)

    async def _start(self, context: JobContext) -> _Work | None:
        async with context.fenced() as session:
            summary = await SummaryRepository(session).get(context.principal, _summary_id(context), for_update=True)
            if summary is None:
                return None
            documents = DocumentRepository(session)
            document = await documents.get(context.principal, summary.document_id)
            content = await documents.content(context.principal, summary.document_id)
            if document is None or content is None:
                return None
            template = None
            if summary.template_id is not None:
                template = await TemplateRepository(session).get(summary.org_id, summary.template_id)
            if template is None:  # deleted since: the default takes its place
                template = await TemplateRepository(session).default(summary.org_id, TemplateKind.SUMMARY)
            summary.status = SummaryStatus.PROCESSING
            request = SummaryRequest(
                title=document.title,
                text=content.text,
                format=summary.format,
                length=summary.length,
                language=summary.language,
                instructions=summary.instructions,
                prompt=templates.parse(template.prompt if template else "{content}", TemplateKind.SUMMARY),
            )
        return _Work(summary.org_id, request, content.version)

    async def _write(self, context: JobContext, work: _Work) -> Written:
        async def progress(percent: float, message: str) -> None:
            await context.progress(percent, message, stage="summarising")

        async with context.sessionmaker() as session:
            llm = await self.llm.for_org(session, work.org_id)
        if llm is not None:
            metered = self.meter.metered(llm, context.principal, SUMMARY_USAGE)
            return await LLMSummarizer(metered, self.settings).write(work.request, progress)
        embedder = await anyio.to_thread.run_sync(self.embedder)
        return await ExtractiveSummarizer(embedder).write(work.request, progress)

    async def _store(self, context: JobContext, work: _Work, written: Written) -> None:
        async with context.fenced() as session:
            summary = await SummaryRepository(session).get(context.principal, _summary_id(context), for_update=True)
            if summary is None:
                return
            summary.status = SummaryStatus.READY
            summary.text = written.text
            summary.model = written.model
            summary.extractive = written.extractive
            summary.sections = written.sections
            summary.prompt_tokens = written.usage.prompt_tokens
            summary.completion_tokens = written.usage.completion_tokens
            summary.document_version = work.document_version
            summary.error_code = summary.error_message = None
            _emit(session, summary, EventType.SUMMARY_READY)
        await context.progress(100, "ready", stage="done")

    async def _set_status(
        self, context: JobContext, status: SummaryStatus, code: str | None = None, message: str | None = None
    ) -> None:
        async with context.fenced() as session:
            await _mark(session, context, status, code, message)


async def _mark(
    session: AsyncSession, context: JobContext, status: SummaryStatus, code: str | None, message: str | None
) -> None:
    summary: Summary | None = await SummaryRepository(session).get(
        context.principal, _summary_id(context), for_update=True
    )
    if summary is not None:
        summary.status, summary.error_code, summary.error_message = status, code, message
        if status is SummaryStatus.FAILED:
            _emit(session, summary, EventType.SUMMARY_FAILED)


def _emit(session: AsyncSession, summary: Summary, type: EventType) -> None:
    data = SummaryData(
        document_id=summary.document_id, error_code=summary.error_code, error_message=summary.error_message
    )
    emit(session, org_id=summary.org_id, type=type, subject_id=summary.id, data=data)


def _summary_id(context: JobContext) -> UUID:
    if context.subject_id is None:
        raise ValueError(f"job {context.job_id} of kind {SUMMARIZE_DOCUMENT} has no summary")
    return context.subject_id
