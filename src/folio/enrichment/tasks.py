"""Running a job's pending enrichments step by step, and the `enrich_documents` job that does only that."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from uuid import UUID
from weakref import WeakValueDictionary

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from folio.alerts import evaluation as alerts
from folio.embeddings.provider import EmbeddingProvider, Embeddings
from folio.enrichment.engine import LLMWriter, OfflineWriter, Target
from folio.enrichment.repository import EnrichmentRepository, Outcome, Pending, SchemaRepository
from folio.events.outbox import emit
from folio.events.schemas import EnrichmentData, EventType, SubjectType
from folio.jobs.errors import Transient, WorkerLost
from folio.jobs.runner import JobContext, settled
from folio.llm.errors import PASSING_ERRORS
from folio.llm.registry import LLMRegistry
from folio.models import TemplateKind
from folio.settings import EnrichmentSettings
from folio.summaries import templates
from folio.summaries import templates_service as prompt_templates
from folio.summaries.templates import Piece
from folio.usage.service import Meter

ENRICHMENT_USAGE = "enrichment"
# Items read, written and committed together: progress and what a failure can lose are one step.
_STEP = 64


@dataclass(frozen=True, slots=True)
class Tally:
    """Enrichments written (whatever their outcome), and how many of them a person should look at."""

    enriched: int = 0
    needing_review: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.enriched + other.enriched, self.needing_review + other.needing_review)


class Limits:
    """One semaphore per organization: its enrichment calls to a language model, in this process, at most `limit`
    at once, however many jobs run them. An organization's semaphore lives while a job holds it, not for ever."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._semaphores: WeakValueDictionary[UUID, asyncio.Semaphore] = WeakValueDictionary()

    def of(self, org_id: UUID) -> asyncio.Semaphore:
        semaphore = self._semaphores.get(org_id)
        if semaphore is None:
            semaphore = self._semaphores[org_id] = asyncio.Semaphore(self.limit)
        return semaphore


class EnrichmentRunner:
    """Writes the enrichments pending for a job, by the organization's model when it has one, else offline."""

    def __init__(
        self,
        llm: LLMRegistry,
        embedder: Callable[[], EmbeddingProvider],
        settings: EnrichmentSettings,
        meter: Meter,
        limits: Limits,
    ) -> None:
        self.llm = llm
        self.embedder = embedder
        self.settings = settings
        self.meter = meter
        self.limits = limits
        # Kept across jobs: it holds each schema's label embeddings, made once per process.
        self._offline: OfflineWriter | None = None

    async def run(
        self,
        context: JobContext,
        *,
        document_ids: Sequence[UUID] | None = None,
        vectors: Mapping[UUID, Embeddings] | None = None,
        on_step: Callable[[Tally], Awaitable[None]] | None = None,
    ) -> Tally:
        """Every enrichment pending for the job (of `document_ids` only, when given), a step at a time; `vectors`
        are embeddings already made for the documents, which the offline engine then does not make again."""
        total = Tally()
        after: UUID | None = None
        while True:
            async with context.sessionmaker() as session:
                items = await EnrichmentRepository(session).pending(
                    context.job_id, document_ids=document_ids, after=after, limit=_STEP
                )
                if not items:
                    return total
                after = items[-1].id
                targets = await self._targets(session, context, items)
                llm = await self.llm.for_org(session, context.principal.org_id)
                prompts = await self._prompts(session, context, items) if llm is not None else {}
                known = dict(vectors or {})
                if llm is None:
                    lacking = [item.document_id for item in items if item.document_id not in known]
                    if lacking:
                        known.update(await EnrichmentRepository(session).vectors(lacking))
            if llm is not None:
                metered = self.meter.metered(llm, context.principal, ENRICHMENT_USAGE)
                writer = LLMWriter(
                    metered,
                    self.settings,
                    self.limits.of(context.principal.org_id),
                    self.llm.settings.max_answer_tokens,
                )
                results = await writer.write(items, targets, prompts)
            else:
                if self._offline is None:
                    self._offline = OfflineWriter(await anyio.to_thread.run_sync(self.embedder))
                results = await self._offline.write(items, targets, known)
            outcomes = [result for result in results if isinstance(result, Outcome)]
            async with context.fenced() as session:
                await EnrichmentRepository(session).save(context.job_id, outcomes)
                enriched = [outcome.document_id for outcome in outcomes]
                await alerts.evaluate_enriched(session, org_id=context.principal.org_id, document_ids=enriched)
            step = Tally(len(outcomes), sum(outcome.needs_review for outcome in outcomes))
            total += step
            _raise_first_failure(results)
            if on_step is not None:
                await on_step(total)

    async def _targets(
        self, session: AsyncSession, context: JobContext, items: Sequence[Pending]
    ) -> dict[UUID, Target]:
        schemas = await SchemaRepository(session).get_many(
            context.principal.org_id, sorted({item.schema_id for item in items})
        )
        return {schema_id: Target.of(schema_id, schema.json_schema) for schema_id, schema in schemas.items()}

    async def _prompts(
        self, session: AsyncSession, context: JobContext, items: Sequence[Pending]
    ) -> dict[UUID | None, list[Piece]]:
        """The prompt of each template the items name; one deleted since is replaced by the default."""
        org_id = context.principal.org_id
        default = await prompt_templates.default_template(session, org_id=org_id, kind=TemplateKind.ENRICHMENT)
        fallback = templates.parse(default.prompt if default else "{content}", TemplateKind.ENRICHMENT)
        prompts: dict[UUID | None, list[Piece]] = {None: fallback}
        for template_id in {item.template_id for item in items if item.template_id is not None}:
            template = await prompt_templates.find_template(session, org_id=org_id, template_id=template_id)
            if template is None or template.kind is not TemplateKind.ENRICHMENT:
                prompts[template_id] = fallback
            else:
                prompts[template_id] = templates.parse(template.prompt, TemplateKind.ENRICHMENT)
        return prompts


def _raise_first_failure(results: Sequence[Outcome | BaseException]) -> None:
    for result in results:
        if isinstance(result, PASSING_ERRORS):
            raise Transient(result) from result
    for result in results:
        if isinstance(result, BaseException):
            raise result


class EnrichDocuments:
    """The `enrich_documents` job handler: the enrichments requested on demand (one document, or many by filter)."""

    def __init__(self, runner: EnrichmentRunner) -> None:
        self.runner = runner

    async def __call__(self, context: JobContext) -> None:
        async def cancelled() -> None:
            """What is left stays pending for the job: retrying it writes them."""

        async with settled(context, failed=partial(fail_pending, context), cancelled=cancelled):
            tally = await self.runner.run(context, on_step=lambda tally: _report(context, tally))
        async with context.fenced() as session:
            emit(
                session,
                org_id=context.principal.org_id,
                type=EventType.ENRICHMENT_FINISHED,
                subject_type=SubjectType.JOB,
                subject_id=context.job_id,
                data=EnrichmentData(enriched=tally.enriched, needing_review=tally.needing_review),
            )
        await context.progress(100, f"enriched {tally.enriched}, {tally.needing_review} to review", stage="done")

    async def on_lost(self, context: JobContext) -> None:
        async with context.sessionmaker() as session, session.begin():
            await EnrichmentRepository(session).fail_pending(context.job_id, WorkerLost.code, WorkerLost.message)


async def _report(context: JobContext, tally: Tally) -> None:
    count = max(int(context.payload.get("count", 0)), 1)
    await context.progress(
        min(99, 100 * tally.enriched / count),
        f"enriched {tally.enriched}, {tally.needing_review} to review",
        stage="enriching",
    )


async def fail_pending(context: JobContext, code: str, message: str) -> None:
    """Mark what the job leaves unwritten as failed with its error; retrying the job writes them."""
    async with context.fenced() as session:
        await EnrichmentRepository(session).fail_pending(context.job_id, code, message)


# Cases whose labels one transaction of `relabel_cases` takes again: row locks held briefly, in id order.
RELABEL_BATCH = 2_000


async def relabel_cases(context: JobContext) -> None:
    """`enrichment.relabel_cases`: the organization's default schema changed, so every case's labels are taken again
    from that schema's enrichments (cleared where it has none), a batch per transaction. A retry starts over, which
    is harmless: each batch writes what the default schema says at the time."""
    org_id = context.principal.org_id
    async with context.sessionmaker() as session:
        total = max(await EnrichmentRepository(session).count_cases(org_id), 1)
    after: UUID | None = None
    done = 0
    while True:
        async with context.fenced() as session:
            after = await EnrichmentRepository(session).relabel(org_id, after=after, limit=RELABEL_BATCH)
        done += RELABEL_BATCH
        if after is None:
            break
        await context.progress(min(99, 100 * done / total), f"relabelled {done} of {total} cases", stage="relabelling")
    await context.progress(100, f"relabelled the organization's {total} cases")
