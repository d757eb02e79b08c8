"""Prompt templates: validated when saved, one default per kind, built-in ones read-only."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal
from folio.models import PromptTemplate, TemplateKind
from folio.pagination import Paged, PageRequest
from folio.repository import lock_org
from folio.summaries import templates
from folio.summaries.errors import TemplateNameTaken, TemplateNotFound, TemplateReadOnly
from folio.summaries.templates_repository import TemplateRepository


async def get_template(
    session: AsyncSession, *, principal: Principal, template_id: UUID, for_update: bool = False
) -> PromptTemplate:
    template = await TemplateRepository(session).get(principal.org_id, template_id, for_update=for_update)
    if template is None:
        raise TemplateNotFound()
    return template


async def page_templates(
    session: AsyncSession, *, principal: Principal, kind: TemplateKind | None, builtin: bool | None, page: PageRequest
) -> Paged[PromptTemplate]:
    return await TemplateRepository(session).page_of(principal.org_id, kind, builtin, page)


async def find_template(session: AsyncSession, *, org_id: UUID, template_id: UUID) -> PromptTemplate | None:
    """A template the organization can read, or None (for jobs, which have no request to answer 404)."""
    return await TemplateRepository(session).get(org_id, template_id)


async def default_template(session: AsyncSession, *, org_id: UUID, kind: TemplateKind) -> PromptTemplate | None:
    return await TemplateRepository(session).default(org_id, kind)


async def create_template(
    session: AsyncSession,
    *,
    principal: Principal,
    name: str,
    description: str,
    kind: TemplateKind,
    prompt: str,
    is_default: bool,
) -> PromptTemplate:
    templates.parse(prompt, kind)
    repository = TemplateRepository(session)
    await lock_org(session, principal.org_id)
    if await repository.name_taken(principal.org_id, name):
        raise TemplateNameTaken(details={"name": name})
    if is_default:
        await repository.clear_default(principal.org_id, kind)
    template = PromptTemplate(
        org_id=principal.org_id,
        name=name,
        description=description,
        kind=kind,
        prompt=prompt,
        is_default=is_default,
        created_by=principal.member_id,
    )
    await repository.add(template)
    return template


async def update_template(
    session: AsyncSession, *, principal: Principal, template_id: UUID, changes: dict[str, Any]
) -> PromptTemplate:
    """Apply the fields present in `changes` (name, description, kind, prompt, is_default)."""
    repository = TemplateRepository(session)
    await lock_org(session, principal.org_id)
    template = await get_template(session, principal=principal, template_id=template_id, for_update=True)
    if template.builtin:
        raise TemplateReadOnly()
    kind = changes.get("kind") or template.kind
    templates.parse(changes.get("prompt") or template.prompt, kind)
    name = changes.get("name")
    if name is not None and await repository.name_taken(principal.org_id, name, other_than=template.id):
        raise TemplateNameTaken(details={"name": name})
    if changes.get("is_default", template.is_default) and (changes.get("is_default") or kind != template.kind):
        await repository.clear_default(principal.org_id, kind)
    for field, value in changes.items():
        if value is not None:
            setattr(template, field, value)
    await session.flush()
    return template


async def delete_template(session: AsyncSession, *, principal: Principal, template_id: UUID) -> None:
    """Deleting twice is not an error; summaries written with the template keep their text and lose the link."""
    template = await TemplateRepository(session).get(principal.org_id, template_id, for_update=True)
    if template is None:
        return
    if template.builtin:
        raise TemplateReadOnly()
    await TemplateRepository(session).delete(template)
