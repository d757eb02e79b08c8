from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, status

from folio.auth.deps import authenticated, requires
from folio.auth.principal import Principal, Scope
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.models import TemplateKind
from folio.pagination import Page
from folio.routing import Router
from folio.summaries import templates_service as service
from folio.summaries.errors import (
    TemplateNameTaken,
    TemplateNotFound,
    TemplateReadOnly,
    TemplateSyntaxInvalid,
    TemplateVariableUnknown,
)
from folio.summaries.templates_schemas import TemplateCreate, TemplateRead, TemplateUpdate

router = Router(prefix=f"{API_V1}/templates", tags=["templates"])
Reader = Annotated[Principal, requires(Scope.DOCUMENTS_READ)]
Writer = Annotated[Principal, requires(Scope.DOCUMENTS_WRITE)]


@router.get(
    "",
    response_model=Page[TemplateRead],
    responses=authenticated(Forbidden),
    summary="List the built-in templates and your organization's",
    description="Built-in templates come first, then your organization's, oldest first.",
)
async def list_templates(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    kind: Annotated[TemplateKind | None, Query(description="Only templates of this kind.")] = None,
    builtin: Annotated[bool | None, Query(description="Only built-in templates (true) or only yours (false).")] = None,
) -> Page[TemplateRead]:
    templates = await service.page_templates(session, principal=principal, kind=kind, builtin=builtin, page=page)
    return templates.to_page(TemplateRead.model_validate)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TemplateRead,
    responses=authenticated(Forbidden, TemplateSyntaxInvalid, TemplateVariableUnknown, TemplateNameTaken),
    summary="Create a template",
    description="The prompt is checked now: a variable its kind does not offer answers 422 "
    "`TEMPLATE_VARIABLE_UNKNOWN`. With `is_default`, it replaces the organization's default of its kind.",
)
async def create_template(body: TemplateCreate, principal: Writer, session: SessionDep) -> TemplateRead:
    template = await service.create_template(
        session,
        principal=principal,
        name=body.name,
        description=body.description,
        kind=body.kind,
        prompt=body.prompt,
        is_default=body.is_default,
    )
    return TemplateRead.model_validate(template)


@router.get(
    "/{template_id}",
    response_model=TemplateRead,
    responses=authenticated(Forbidden, TemplateNotFound),
    summary="Get a template",
)
async def get_template(template_id: UUID, principal: Reader, session: SessionDep) -> TemplateRead:
    return TemplateRead.model_validate(
        await service.get_template(session, principal=principal, template_id=template_id)
    )


@router.patch(
    "/{template_id}",
    response_model=TemplateRead,
    responses=authenticated(
        Forbidden, TemplateNotFound, TemplateReadOnly, TemplateSyntaxInvalid, TemplateVariableUnknown, TemplateNameTaken
    ),
    summary="Change one of your templates",
)
async def update_template(
    template_id: UUID, body: TemplateUpdate, principal: Writer, session: SessionDep
) -> TemplateRead:
    template = await service.update_template(
        session, principal=principal, template_id=template_id, changes=body.model_dump(exclude_unset=True)
    )
    return TemplateRead.model_validate(template)


@router.delete(
    "/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, TemplateReadOnly),
    summary="Delete one of your templates (again: still 204)",
)
async def delete_template(template_id: UUID, principal: Writer, session: SessionDep) -> None:
    await service.delete_template(session, principal=principal, template_id=template_id)
