"""Publishing a summary back to the source its document came from: the request checks and queues a
`publish_summary` job; the job writes the summary under the target (a Notion page, a Confluence page or
attachment) and records where. Idempotent twice over: a publication already recorded is the answer, and the
connector finds a summary it wrote on an earlier attempt (by the summary's id) before writing one."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.documents import service as documents
from folio.errors import Conflict, ValidationFailed
from folio.integrations import service
from folio.integrations.connector import Publisher
from folio.integrations.errors import IntegrationNeedsReauth, SourceUnavailable
from folio.integrations.repository import IntegrationRepository, PublicationRepository
from folio.integrations.sources import Sources
from folio.integrations.tasks import keep_renewed
from folio.jobs import service as jobs
from folio.jobs.errors import Transient
from folio.jobs.kinds import PUBLISH_SUMMARY
from folio.jobs.runner import JobContext
from folio.models import IntegrationKind, IntegrationStatus, Job, SummaryPublication, SummaryStatus
from folio.summaries import service as summaries

MAX_TARGET_LENGTH = 500
# The kinds whose connector can write a summary back.
PUBLISHING = frozenset({IntegrationKind.NOTION, IntegrationKind.CONFLUENCE})


class CannotPublish(Conflict):
    """The summary cannot be published there: its integration's kind has no place for it (only Notion and
    Confluence do), the summary is not ready, or no target was given and its document was not synced from that
    integration (`details.reason`)."""

    code = "INTEGRATION_CANNOT_PUBLISH"
    message = "The summary cannot be published there."


@dataclass(frozen=True, slots=True)
class _Work:
    summary_id: UUID
    title: str
    text: str
    integration_id: UUID
    target_id: str


async def start_publish(
    session: AsyncSession,
    *,
    principal: Principal,
    sources: Sources,
    summary_id: UUID,
    integration_id: UUID,
    target_id: str | None,
    max_attempts: int,
) -> Job:
    summary = await summaries.get_summary(session, principal=principal, summary_id=summary_id)
    integration = await service.get_integration(session, principal=principal, integration_id=integration_id)
    if integration.kind not in PUBLISHING:
        raise CannotPublish(details={"reason": "kind", "kind": integration.kind.value})
    if integration.status is IntegrationStatus.NEEDS_REAUTH:
        raise IntegrationNeedsReauth()
    if summary.status is not SummaryStatus.READY or not summary.text:
        raise CannotPublish(details={"reason": "not_ready", "status": summary.status.value})
    if target_id is None:
        document = await documents.get_document(session, principal=principal, document_id=summary.document_id)
        if document.integration_id != integration.id or not document.external_id:
            raise CannotPublish(details={"reason": "no_target"})
        target_id = document.external_id
    if not target_id or len(target_id) > MAX_TARGET_LENGTH:
        raise ValidationFailed("target_id is empty or too long.", details={"max_length": MAX_TARGET_LENGTH})
    return await jobs.enqueue(
        session,
        principal=principal,
        kind=PUBLISH_SUMMARY,
        max_attempts=max_attempts,
        subject_id=summary.id,
        payload={"integration_id": str(integration.id), "target_id": target_id},
    )


async def publications(
    session: AsyncSession, *, principal: Principal, integration_id: UUID, summary_id: UUID | None
) -> list[SummaryPublication]:
    await service.get_integration(session, principal=principal, integration_id=integration_id)
    return list(await PublicationRepository(session).of_integration(principal, integration_id, summary_id, 100))


class PublishSummary:
    """The `publish_summary` job."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    async def __call__(self, context: JobContext) -> None:
        work = await self._read(context)
        if work is None:
            return
        try:
            await self._publish(context, work)
        except SourceUnavailable as error:
            raise Transient(error) from error

    async def _read(self, context: JobContext) -> _Work | None:
        integration_id = UUID(context.payload["integration_id"])
        target_id = str(context.payload["target_id"])
        async with context.sessionmaker() as session:
            summary = await summaries.get_summary(session, principal=context.principal, summary_id=_summary_id(context))
            document = await documents.get_document(
                session, principal=context.principal, document_id=summary.document_id
            )
            done = await PublicationRepository(session).exists(summary.id, integration_id, target_id)
        if done:
            return None
        return _Work(summary.id, f"Summary: {document.title}", summary.text or "", integration_id, target_id)

    async def _publish(self, context: JobContext, work: _Work) -> None:
        async with context.sessionmaker() as session:
            integration = await IntegrationRepository(session).get(context.principal, work.integration_id)
        if integration is None:
            return
        credentials = self.sources.credentials(integration)

        http, connector = self.sources.open(
            integration, credentials, keep_renewed(context, self.sources, integration.id)
        )
        if not isinstance(connector, Publisher):
            raise CannotPublish(details={"reason": "kind", "kind": integration.kind.value})
        async with http:
            try:
                published = await connector.publish(
                    work.target_id, title=work.title, markdown=work.text, marker=str(work.summary_id)
                )
            except ValueError as exc:  # a target the source's ids cannot be
                raise CannotPublish(details={"reason": "target"}) from exc
        async with context.fenced() as session:
            await PublicationRepository(session).record(
                org_id=context.principal.org_id,
                summary_id=work.summary_id,
                integration_id=work.integration_id,
                target_id=work.target_id,
                remote_id=published.remote_id[:500],
                url=None if published.url is None else published.url[:2000],
                published_by=context.principal.user_id,
            )
        await context.progress(100, "published")


def _summary_id(context: JobContext) -> UUID:
    if context.subject_id is None:
        raise ValueError(f"job {context.job_id} of kind {PUBLISH_SUMMARY} has no summary")
    return context.subject_id
