from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, status

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, PageDep, SessionDep, SettingsDep
from folio.documents.errors import DocumentNotFound, DocumentNotReady
from folio.enrichment import service
from folio.enrichment.errors import (
    EnrichmentSchemaInvalid,
    EnrichmentSchemaNameTaken,
    EnrichmentSchemaNotFound,
    EnrichmentSchemaReadOnly,
)
from folio.enrichment.schemas import (
    EnrichmentList,
    EnrichmentRead,
    EnrichRequest,
    SchemaCreate,
    SchemaRead,
    SchemaUpdate,
)
from folio.errors import Forbidden
from folio.pagination import Page
from folio.routing import Router
from folio.summaries.errors import TemplateNotFound, TemplateWrongKind

router = Router(prefix=API_V1, tags=["enrichment"])
Reader = Annotated[Principal, requires(Scope.DOCUMENTS_READ)]
Writer = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]
SCHEMAS = "/enrichment/schemas"


@router.get(
    SCHEMAS,
    response_model=Page[SchemaRead],
    responses=authenticated(Forbidden),
    summary="List the built-in enrichment schemas and your organization's",
)
async def list_schemas(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    builtin: Annotated[bool | None, Query(description="Only built-in schemas (true) or only yours (false).")] = None,
) -> Page[SchemaRead]:
    schemas = await service.page_schemas(session, principal=principal, builtin=builtin, page=page)
    return schemas.to_page(SchemaRead.model_validate)


@router.post(
    SCHEMAS,
    status_code=status.HTTP_201_CREATED,
    response_model=SchemaRead,
    responses=authenticated(Forbidden, EnrichmentSchemaInvalid, EnrichmentSchemaNameTaken),
    summary="Create an enrichment schema",
    description="The JSON Schema is checked now (422 `ENRICHMENT_SCHEMA_INVALID`). With `is_default`, batches and "
    "requests that name no schema use it instead of the built-in `Case triage`.",
)
async def create_schema(
    body: SchemaCreate, principal: Writer, session: SessionDep, settings: SettingsDep
) -> SchemaRead:
    schema = await service.create_schema(
        session,
        principal=principal,
        name=body.name,
        description=body.description,
        json_schema=body.json_schema,
        is_default=body.is_default,
        max_attempts=settings.jobs.max_attempts,
    )
    return SchemaRead.model_validate(schema)


@router.get(
    SCHEMAS + "/{schema_id}",
    response_model=SchemaRead,
    responses=authenticated(Forbidden, EnrichmentSchemaNotFound),
    summary="Get an enrichment schema",
)
async def get_schema(schema_id: UUID, principal: Reader, session: SessionDep) -> SchemaRead:
    return SchemaRead.model_validate(await service.get_schema(session, principal=principal, schema_id=schema_id))


@router.patch(
    SCHEMAS + "/{schema_id}",
    response_model=SchemaRead,
    responses=authenticated(
        Forbidden,
        EnrichmentSchemaNotFound,
        EnrichmentSchemaReadOnly,
        EnrichmentSchemaInvalid,
        EnrichmentSchemaNameTaken,
    ),
    summary="Change one of your enrichment schemas",
    description="Enrichments already written keep their data; enrich again to follow the new schema.",
)
async def update_schema(
    schema_id: UUID, body: SchemaUpdate, principal: Writer, session: SessionDep, settings: SettingsDep
) -> SchemaRead:
    schema = await service.update_schema(
        session,
        principal=principal,
        schema_id=schema_id,
        changes=body.model_dump(exclude_unset=True),
        max_attempts=settings.jobs.max_attempts,
    )
    return SchemaRead.model_validate(schema)


@router.delete(
    SCHEMAS + "/{schema_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, EnrichmentSchemaReadOnly),
    summary="Delete one of your enrichment schemas and its enrichments (again: still 204)",
)
async def delete_schema(schema_id: UUID, principal: Writer, session: SessionDep, settings: SettingsDep) -> None:
    await service.delete_schema(
        session, principal=principal, schema_id=schema_id, max_attempts=settings.jobs.max_attempts
    )


@router.post(
    "/documents/{document_id}/enrich",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=EnrichmentRead,
    responses=authenticated(
        Forbidden, DocumentNotFound, DocumentNotReady, EnrichmentSchemaNotFound, TemplateNotFound, TemplateWrongKind
    ),
    summary="Enrich a document or record against a schema",
    description=(
        "Starts a job (`job_id`) that writes the document's enrichment with the schema (your default when none is "
        "named): by your language model, whose JSON is validated against the schema and asked for again with the "
        "errors once, else marked `needs_review` with the raw answer kept; without a model, offline (model "
        "`folio-offline-enrichment`): VADER sentiment, severity rules, labels by embedding similarity to their "
        "descriptions. Enriching again replaces the previous enrichment with that schema when the job is done."
    ),
)
async def enrich_document(
    document_id: UUID, body: EnrichRequest, principal: Writer, session: SessionDep, settings: SettingsDep
) -> EnrichmentRead:
    enrichment = await service.enrich_document(
        session,
        principal=principal,
        document_id=document_id,
        schema_id=body.schema_id,
        template_id=body.template_id,
        instructions=body.instructions,
        max_attempts=settings.jobs.max_attempts,
    )
    schema = await service.get_schema(session, principal=principal, schema_id=enrichment.schema_id)
    return EnrichmentRead.of(enrichment, schema.name)


@router.get(
    "/documents/{document_id}/enrichments",
    response_model=EnrichmentList,
    responses=authenticated(Forbidden, DocumentNotFound),
    summary="A document's enrichments, one per schema",
)
async def list_enrichments(document_id: UUID, principal: Reader, session: SessionDep) -> EnrichmentList:
    rows = await service.list_for_document(session, principal=principal, document_id=document_id)
    return EnrichmentList(items=[EnrichmentRead.of(enrichment, name) for enrichment, name in rows])
