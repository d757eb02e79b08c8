from __future__ import annotations

from uuid import UUID

from fastapi import status

from folio.auth.deps import authenticated
from folio.cases.deps import Reader
from folio.cases.errors import TooManyViews, ViewNotFound
from folio.cases.views import service
from folio.cases.views.schemas import ViewCreate, ViewRead, ViewUpdate
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.models import SavedView
from folio.pagination import Page
from folio.routing import Router

router = Router(prefix=f"{API_V1}/cases/views", tags=["cases"])


@router.get(
    "",
    response_model=Page[ViewRead],
    responses=authenticated(Forbidden),
    summary="Your saved views and those shared in your organization",
)
async def list_views(principal: Reader, session: SessionDep, page: PageDep) -> Page[ViewRead]:
    views = await service.page_views(session, principal=principal, page=page)
    return views.to_page(ViewRead.model_validate)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ViewRead,
    responses=authenticated(Forbidden, TooManyViews),
    summary="Save a set of case filters under a name",
    description="`filters` are those of `GET /api/v1/cases`, checked the same way; list with `?view={id}`. A "
    "member keeps at most 50 views and an organization at most 200 shared ones (409 `TOO_MANY_VIEWS`). Sharing "
    "needs `cases:write`.",
)
async def create_view(body: ViewCreate, principal: Reader, session: SessionDep) -> SavedView:
    return await service.create_view(
        session, principal=principal, name=body.name, filters=body.filters, shared=body.shared
    )


@router.get(
    "/{view_id}",
    response_model=ViewRead,
    responses=authenticated(Forbidden, ViewNotFound),
    summary="A saved view",
)
async def get_view(view_id: UUID, principal: Reader, session: SessionDep) -> SavedView:
    return await service.get_view(session, principal=principal, view_id=view_id)


@router.patch(
    "/{view_id}",
    response_model=ViewRead,
    responses=authenticated(Forbidden, ViewNotFound, TooManyViews),
    summary="Rename a saved view, replace its filters, share or unshare it",
    description="Your own views; a shared one also by business-unit managers and above (403 otherwise).",
)
async def update_view(view_id: UUID, body: ViewUpdate, principal: Reader, session: SessionDep) -> SavedView:
    fields = {name: getattr(body, name) for name in body.model_fields_set}
    return await service.update_view(session, principal=principal, view_id=view_id, fields=fields)


@router.delete(
    "/{view_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(Forbidden, ViewNotFound),
    summary="Delete a saved view",
    description="Your own views; a shared one also by business-unit managers and above.",
)
async def delete_view(view_id: UUID, principal: Reader, session: SessionDep) -> None:
    await service.delete_view(session, principal=principal, view_id=view_id)
