from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, status

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, PageDep, SessionDep, SettingsDep
from folio.documents.errors import DocumentNotFound, DocumentNotReady
from folio.errors import Forbidden
from folio.models import SummaryStatus
from folio.pagination import Page
from folio.routing import Router
from folio.summaries import service
from folio.summaries.errors import SummaryInProgress, SummaryNotFound, TemplateNotFound, TemplateWrongKind
from folio.summaries.repository import SummaryFilters
from folio.summaries.schemas import SummaryCreate, SummaryRead

router = Router(prefix=API_V1, tags=["summaries"])
Reader = Annotated[Principal, requires(Scope.DOCUMENTS_READ)]
Writer = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]


@router.post(
    "/documents/{document_id}/summaries",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SummaryRead,
    responses=authenticated(Forbidden, DocumentNotFound, DocumentNotReady, TemplateNotFound, TemplateWrongKind),
    summary="Summarise a document",
    description=(
        "Starts a job (`job_id`) that summarises the document's live version with the template, or your "
        "organization's default one. A document longer than the model's context is summarised part by part, then "
        "the parts' summaries together (map-reduce); the job's progress says which part. Without a language model "
        "the summary is the document's most central sentences, in order (`extractive: true`, model "
        "`folio-extractive`)."
    ),
)
async def create_summary(
    document_id: UUID, body: SummaryCreate, principal: Writer, session: SessionDep, settings: SettingsDep
) -> SummaryRead:
    summary = await service.create_summary(
        session,
        principal=principal,
        document_id=document_id,
        template_id=body.template_id,
        instructions=body.instructions,
        format=body.format,
        length=body.length,
        language=body.language,
        max_attempts=settings.jobs.max_attempts,
    )
    return SummaryRead.model_validate(summary)


@router.get(
    "/summaries",
    response_model=Page[SummaryRead],
    responses=authenticated(Forbidden),
    summary="List summaries, oldest first",
)
async def list_summaries(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    document_id: Annotated[UUID | None, Query(description="Only summaries of this document.")] = None,
    template_id: Annotated[UUID | None, Query(description="Only summaries written with this template.")] = None,
    status: Annotated[SummaryStatus | None, Query(description="Only summaries in this state.")] = None,
) -> Page[SummaryRead]:
    filters = SummaryFilters(document_id=document_id, template_id=template_id, status=status)
    summaries = await service.page_summaries(session, principal=principal, filters=filters, page=page)
    return summaries.to_page(SummaryRead.model_validate)


@router.get(
    "/summaries/{summary_id}",
    response_model=SummaryRead,
    responses=authenticated(Forbidden, SummaryNotFound),
    summary="Get a summary",
)
async def get_summary(summary_id: UUID, principal: Reader, session: SessionDep) -> SummaryRead:
    return SummaryRead.model_validate(await service.get_summary(session, principal=principal, summary_id=summary_id))


@router.post(
    "/summaries/{summary_id}/regenerate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=SummaryRead,
    responses=authenticated(Forbidden, SummaryNotFound, SummaryInProgress),
    summary="Write a summary again",
    description="From the document's live version and the template's current prompt, with the same options. "
    "The previous text stays readable until the new one replaces it.",
)
async def regenerate_summary(
    summary_id: UUID, principal: Writer, session: SessionDep, settings: SettingsDep
) -> SummaryRead:
    summary = await service.regenerate(
        session, principal=principal, summary_id=summary_id, max_attempts=settings.jobs.max_attempts
    )
    return SummaryRead.model_validate(summary)


@router.delete(
    "/summaries/{summary_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden),
    summary="Delete a summary and stop its job (again: still 204)",
)
async def delete_summary(summary_id: UUID, principal: Writer, session: SessionDep) -> None:
    await service.delete_summary(session, principal=principal, summary_id=summary_id)
