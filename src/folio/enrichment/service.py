"""Enrichment schemas (checked when saved, one default, built-in ones read-only) and enrichment requests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from jsonschema import Draft202012Validator, SchemaError
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012
from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.documents import service as documents
from folio.documents.errors import DocumentNotReady
from folio.enrichment.errors import (
    EnrichmentSchemaInvalid,
    EnrichmentSchemaNameTaken,
    EnrichmentSchemaNotFound,
    EnrichmentSchemaReadOnly,
)
from folio.enrichment.repository import EnrichmentRepository, SchemaRepository
from folio.enrichment.schemas import MAX_SCHEMA_BYTES
from folio.enrichment.tasks import Tally
from folio.jobs import service as jobs
from folio.jobs.kinds import ENRICH_DOCUMENTS, RELABEL_CASES
from folio.models import DocumentStatus, Enrichment, EnrichmentSchema, Job, TemplateKind
from folio.pagination import Paged, PageRequest
from folio.repository import lock_org
from folio.schemas import json_limit_error
from folio.summaries import templates_service as prompt_templates
from folio.summaries.errors import TemplateWrongKind

# The base URI the schema's own references resolve against.
_ROOT = "urn:folio:enrichment-schema"


def check_schema(json_schema: dict[str, Any]) -> None:
    """Raise EnrichmentSchemaInvalid unless it is a draft 2020-12 JSON Schema of an object with properties."""
    # Before jsonschema, which recurses: a schema nested too deep would end in a RecursionError.
    if (bounds := json_limit_error(json_schema, max_bytes=MAX_SCHEMA_BYTES)) is not None:
        raise EnrichmentSchemaInvalid(f"The schema is {bounds.message()}.", details={"type": bounds.type})
    try:
        Draft202012Validator.check_schema(json_schema)
    except SchemaError as error:
        path = "/".join(str(part) for part in error.absolute_path) or "(the schema)"
        raise EnrichmentSchemaInvalid(f"{path}: {error.message}", details={"path": path}) from error
    properties = json_schema.get("properties")
    if json_schema.get("type") != "object" or not isinstance(properties, dict) or not properties:
        raise EnrichmentSchemaInvalid('The schema must describe an object: "type": "object" with "properties".')
    _check_references(json_schema)


def _check_references(json_schema: dict[str, Any]) -> None:
    """Every `$ref` must point inside the schema: validating an answer would fail on one that does not, and one
    outside it (a URL) is never fetched."""
    resource = Resource.from_contents(json_schema, default_specification=DRAFT202012)
    resolver = Registry().with_resource(_ROOT, resource).resolver(_ROOT)
    pending: list[Any] = [json_schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str):
                try:
                    resolver.lookup(reference)
                except Unresolvable as error:
                    raise EnrichmentSchemaInvalid(
                        f"The $ref {reference!r} does not point inside the schema.", details={"ref": reference}
                    ) from error
            pending += node.values()
        elif isinstance(node, list):
            pending += node


async def get_schema(
    session: AsyncSession, *, principal: Principal, schema_id: UUID, for_update: bool = False
) -> EnrichmentSchema:
    schema = await SchemaRepository(session).get(principal.org_id, schema_id, for_update=for_update)
    if schema is None:
        raise EnrichmentSchemaNotFound()
    return schema


async def schema_or_default(session: AsyncSession, *, principal: Principal, schema_id: UUID | None) -> EnrichmentSchema:
    if schema_id is not None:
        return await get_schema(session, principal=principal, schema_id=schema_id)
    schema = await SchemaRepository(session).default(principal.org_id)
    if schema is None:  # the built-in default is seeded by a migration
        raise EnrichmentSchemaNotFound("No default enrichment schema.")
    return schema


async def page_schemas(
    session: AsyncSession, *, principal: Principal, builtin: bool | None, page: PageRequest
) -> Paged[EnrichmentSchema]:
    return await SchemaRepository(session).page_of(principal.org_id, builtin, page)


async def create_schema(
    session: AsyncSession,
    *,
    principal: Principal,
    name: str,
    description: str,
    json_schema: dict[str, Any],
    is_default: bool,
    max_attempts: int,
) -> EnrichmentSchema:
    check_schema(json_schema)
    repository = SchemaRepository(session)
    await lock_org(session, principal.org_id)
    if await repository.name_taken(principal.org_id, name):
        raise EnrichmentSchemaNameTaken(details={"name": name})
    if is_default:
        await repository.clear_default(principal.org_id)
    schema = EnrichmentSchema(
        org_id=principal.org_id,
        name=name,
        description=description,
        json_schema=json_schema,
        is_default=is_default,
        created_by=principal.member_id,
    )
    await repository.add(schema)
    if is_default:
        await _relabel(session, principal, max_attempts)
    return schema


async def update_schema(
    session: AsyncSession, *, principal: Principal, schema_id: UUID, changes: dict[str, Any], max_attempts: int
) -> EnrichmentSchema:
    """Apply the fields present in `changes` (name, description, json_schema, is_default)."""
    repository = SchemaRepository(session)
    await lock_org(session, principal.org_id)
    schema = await get_schema(session, principal=principal, schema_id=schema_id, for_update=True)
    if schema.builtin:
        raise EnrichmentSchemaReadOnly()
    if changes.get("json_schema") is not None:
        check_schema(changes["json_schema"])
    name = changes.get("name")
    if name is not None and await repository.name_taken(principal.org_id, name, other_than=schema.id):
        raise EnrichmentSchemaNameTaken(details={"name": name})
    if changes.get("is_default"):
        await repository.clear_default(principal.org_id)
    for field, value in changes.items():
        if value is not None:
            setattr(schema, field, value)
    await session.flush()
    if "is_default" in changes:
        await _relabel(session, principal, max_attempts)
    return schema


async def delete_schema(session: AsyncSession, *, principal: Principal, schema_id: UUID, max_attempts: int) -> None:
    """Deleting twice is not an error; the enrichments made with the schema go with it."""
    repository = SchemaRepository(session)
    schema = await repository.get(principal.org_id, schema_id, for_update=True)
    if schema is None:
        return
    if schema.builtin:
        raise EnrichmentSchemaReadOnly()
    await repository.delete(schema)
    if schema.is_default:
        await _relabel(session, principal, max_attempts)


async def _relabel(session: AsyncSession, principal: Principal, max_attempts: int) -> None:
    """The organization's default schema changed: its cases' labels are taken again from that schema's enrichments
    by a job (`enrichment.relabel_cases`), a batch per transaction, not in this request. One that has not started
    yet will read the new default: a hundred changes in a row queue one job, not a hundred."""
    if not await jobs.queued(session, principal=principal, kind=RELABEL_CASES):
        await jobs.enqueue(session, principal=principal, kind=RELABEL_CASES, max_attempts=max_attempts)


async def check_template(session: AsyncSession, *, principal: Principal, template_id: UUID | None) -> None:
    if template_id is None:
        return
    template = await prompt_templates.get_template(session, principal=principal, template_id=template_id)
    if template.kind is not TemplateKind.ENRICHMENT:
        raise TemplateWrongKind(details={"kind": template.kind.value, "expected": TemplateKind.ENRICHMENT.value})


async def request(
    session: AsyncSession,
    *,
    principal: Principal,
    document_ids: Sequence[UUID],
    schema: EnrichmentSchema,
    max_attempts: int,
    template_id: UUID | None = None,
    instructions: str | None = None,
) -> Job | None:
    """A new `enrich_documents` job writing the documents' enrichments with `schema`; none for no documents."""
    if not document_ids:
        return None
    job = await jobs.enqueue(
        session,
        principal=principal,
        kind=ENRICH_DOCUMENTS,
        max_attempts=max_attempts,
        payload={"count": len(document_ids), "schema_id": str(schema.id)},
        subject_id=document_ids[0] if len(document_ids) == 1 else None,
    )
    await mark_pending(
        session,
        principal=principal,
        document_ids=document_ids,
        schema_id=schema.id,
        job_id=job.id,
        template_id=template_id,
        instructions=instructions,
    )
    return job


async def mark_pending(
    session: AsyncSession,
    *,
    principal: Principal,
    document_ids: Sequence[UUID],
    schema_id: UUID,
    job_id: UUID,
    template_id: UUID | None = None,
    instructions: str | None = None,
) -> None:
    """Make the documents' enrichments with the schema pending for `job_id` (a new request's, or a batch's)."""
    await EnrichmentRepository(session).request(
        org_id=principal.org_id,
        document_ids=document_ids,
        schema_id=schema_id,
        job_id=job_id,
        template_id=template_id,
        instructions=instructions,
        created_by=principal.member_id,
    )


async def tally(session: AsyncSession, *, job_id: UUID) -> Tally:
    """The enrichments `job_id` has written, and how many of them need a person."""
    written, review = await EnrichmentRepository(session).tally(job_id)
    return Tally(written, review)


async def fail_pending(session: AsyncSession, *, job_id: UUID, code: str, message: str) -> None:
    await EnrichmentRepository(session).fail_pending(job_id, code, message)


async def enrich_document(
    session: AsyncSession,
    *,
    principal: Principal,
    document_id: UUID,
    schema_id: UUID | None,
    template_id: UUID | None,
    instructions: str | None,
    max_attempts: int,
) -> Enrichment:
    document = await documents.get_document(session, principal=principal, document_id=document_id)
    if document.status is not DocumentStatus.READY:
        raise DocumentNotReady(details={"status": document.status.value})
    schema = await schema_or_default(session, principal=principal, schema_id=schema_id)
    await check_template(session, principal=principal, template_id=template_id)
    await request(
        session,
        principal=principal,
        document_ids=[document.id],
        schema=schema,
        max_attempts=max_attempts,
        template_id=template_id,
        instructions=instructions,
    )
    enrichment = await EnrichmentRepository(session).get(principal.org_id, document.id, schema.id)
    if enrichment is None:
        raise RuntimeError("the enrichment just requested is missing")
    return enrichment


async def of_documents(
    session: AsyncSession, *, principal: Principal, document_ids: Sequence[UUID]
) -> list[tuple[Enrichment, str]]:
    if not document_ids:
        return []
    return await EnrichmentRepository(session).of_documents(principal.org_id, document_ids)


async def list_for_document(
    session: AsyncSession, *, principal: Principal, document_id: UUID
) -> list[tuple[Enrichment, str]]:
    document = await documents.get_document(session, principal=principal, document_id=document_id)
    return await of_documents(session, principal=principal, document_ids=[document.id])
