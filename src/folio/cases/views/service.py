"""Saved views: a member's own, visible to them alone, or shared with the organization. A shared view is changed
by its owner or by a business-unit manager or above; views are bounded per member and shared ones per
organization."""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from folio.auth.principal import Principal, Scope
from folio.cases import workflow
from folio.cases.errors import TooManyViews, ViewNotFound
from folio.cases.schemas import CaseQuery
from folio.cases.views.repository import ViewRepository
from folio.errors import Forbidden
from folio.models import SavedView
from folio.pagination import Paged, PageRequest

MAX_PER_MEMBER: Final = 50
MAX_SHARED_PER_ORG: Final = 200


def stored_filters(query: CaseQuery) -> dict[str, Any]:
    """The filters as the view keeps them: JSON, only those that filter."""
    return query.model_dump(mode="json", exclude_defaults=True)


async def get_view(session: AsyncSession, *, principal: Principal, view_id: UUID) -> SavedView:
    view = await ViewRepository(session).get(principal, view_id)
    if view is None:
        raise ViewNotFound()
    return view


async def page_views(session: AsyncSession, *, principal: Principal, page: PageRequest) -> Paged[SavedView]:
    return await ViewRepository(session).page(principal, page)


async def create_view(
    session: AsyncSession, *, principal: Principal, name: str, filters: CaseQuery, shared: bool
) -> SavedView:
    if principal.user_id is None:
        raise Forbidden("Saved views belong to members: use a member's token or key.")
    if shared:
        _require_sharing(principal)
    repository = ViewRepository(session)
    await repository.lock_counts(principal.org_id)
    if await repository.count_owned(principal.org_id, principal.user_id) >= MAX_PER_MEMBER:
        raise TooManyViews(details={"max": MAX_PER_MEMBER})
    if shared:
        await _check_shared_room(repository, principal.org_id)
    view = SavedView(
        org_id=principal.org_id,
        owner_id=principal.user_id,
        name=name,
        filters=stored_filters(filters),
        shared=shared,
    )
    await repository.add(view)
    return view


async def update_view(
    session: AsyncSession, *, principal: Principal, view_id: UUID, fields: dict[str, Any]
) -> SavedView:
    """Change `name`, `filters` (a CaseQuery) and `shared` where present in `fields`."""
    repository = ViewRepository(session)
    await repository.lock_counts(principal.org_id)
    view = await _editable(repository, principal, view_id)
    if fields.get("shared") and not view.shared:
        _require_sharing(principal)
        await _check_shared_room(repository, principal.org_id)
        view.shared = True
    elif fields.get("shared") is False:
        view.shared = False
    if "name" in fields:
        view.name = fields["name"]
    if "filters" in fields:
        view.filters = stored_filters(fields["filters"])
    await session.flush()
    return view


async def delete_view(session: AsyncSession, *, principal: Principal, view_id: UUID) -> None:
    repository = ViewRepository(session)
    await repository.delete(await _editable(repository, principal, view_id))


async def _editable(repository: ViewRepository, principal: Principal, view_id: UUID) -> SavedView:
    view = await repository.get(principal, view_id, for_update=True)
    if view is None:
        raise ViewNotFound()
    own = view.owner_id is not None and view.owner_id == principal.user_id
    if not own and not workflow.manages_units(principal):
        raise Forbidden("Only its owner, or a business-unit manager or above, may change a shared view.")
    return view


def _require_sharing(principal: Principal) -> None:
    if not principal.has(Scope.CASES_WRITE):
        raise Forbidden("Sharing a view needs the cases:write scope.", details={"missing_scopes": ["cases:write"]})


async def _check_shared_room(repository: ViewRepository, org_id: UUID) -> None:
    if await repository.count_shared(org_id) >= MAX_SHARED_PER_ORG:
        raise TooManyViews(
            "Your organization has as many shared views as allowed.", details={"max_shared": MAX_SHARED_PER_ORG}
        )
