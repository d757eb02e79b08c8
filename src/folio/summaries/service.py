"""Summaries: asked for on a ready document, written by a `summarize_document` job, regenerated on demand."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.documents import service as documents
from folio.documents.errors import DocumentNotReady
from folio.jobs import service as jobs
from folio.jobs.kinds import SUMMARIZE_DOCUMENT
from folio.models import (
    DocumentStatus,
    PromptTemplate,
    Summary,
    SummaryFormat,
    SummaryLength,
    SummaryStatus,
    TemplateKind,
)
from folio.pagination import Paged, PageRequest
from folio.summaries import templates_service as templates
from folio.summaries.errors import SummaryInProgress, SummaryNotFound, TemplateWrongKind
from folio.summaries.repository import SummaryFilters, SummaryRepository


async def create_summary(
    session: AsyncSession,
    *,
    principal: Principal,
    document_id: UUID,
    template_id: UUID | None,
    instructions: str | None,
    format: SummaryFormat,
    length: SummaryLength,
    language: str | None,
    max_attempts: int,
) -> Summary:
    document = await documents.get_document(session, principal=principal, document_id=document_id)
    if document.status is not DocumentStatus.READY:
        raise DocumentNotReady(details={"status": document.status.value})
    template = await _template(session, principal, template_id)
    summary = Summary(
        org_id=principal.org_id,
        document_id=document.id,
        template_id=template.id if template else None,
        template_name=template.name if template else None,
        instructions=instructions,
        format=format,
        length=length,
        language=language,
        status=SummaryStatus.PENDING,
        created_by=principal.member_id,
    )
    await SummaryRepository(session).add(summary)
    await _start(session, principal, summary, max_attempts)
    return summary


async def get_summary(
    session: AsyncSession, *, principal: Principal, summary_id: UUID, for_update: bool = False
) -> Summary:
    summary = await SummaryRepository(session).get(principal, summary_id, for_update=for_update)
    if summary is None:
        raise SummaryNotFound()
    return summary


async def page_summaries(
    session: AsyncSession, *, principal: Principal, filters: SummaryFilters, page: PageRequest
) -> Paged[Summary]:
    return await SummaryRepository(session).page(principal, page, *filters.where())


async def regenerate(session: AsyncSession, *, principal: Principal, summary_id: UUID, max_attempts: int) -> Summary:
    """Write the summary again from the document's live version and the template's current prompt."""
    summary = await get_summary(session, principal=principal, summary_id=summary_id, for_update=True)
    if summary.status in {SummaryStatus.PENDING, SummaryStatus.PROCESSING}:
        raise SummaryInProgress(details={"status": summary.status.value, "job_id": str(summary.job_id)})
    summary.status = SummaryStatus.PENDING
    summary.error_code = summary.error_message = None
    await _start(session, principal, summary, max_attempts)
    return summary


async def delete_summary(session: AsyncSession, *, principal: Principal, summary_id: UUID) -> None:
    """Stops its job and removes it. Deleting twice is not an error."""
    await jobs.cancel_for_subject(session, principal=principal, subject_id=summary_id)
    repository = SummaryRepository(session)
    summary = await repository.get(principal, summary_id, for_update=True)
    if summary is not None:
        await repository.delete(summary)


async def _template(session: AsyncSession, principal: Principal, template_id: UUID | None) -> PromptTemplate | None:
    if template_id is None:
        return await templates.default_template(session, org_id=principal.org_id, kind=TemplateKind.SUMMARY)
    template = await templates.get_template(session, principal=principal, template_id=template_id)
    if template.kind is not TemplateKind.SUMMARY:
        raise TemplateWrongKind(details={"kind": template.kind.value, "expected": TemplateKind.SUMMARY.value})
    return template


async def _start(session: AsyncSession, principal: Principal, summary: Summary, max_attempts: int) -> None:
    job = await jobs.enqueue(
        session, principal=principal, kind=SUMMARIZE_DOCUMENT, max_attempts=max_attempts, subject_id=summary.id
    )
    summary.job_id = job.id
    await session.flush()
