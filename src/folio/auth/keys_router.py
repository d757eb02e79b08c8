from __future__ import annotations

from uuid import UUID

from fastapi import status

from folio.auth import keys_service
from folio.auth.deps import CurrentPrincipal, authenticated
from folio.auth.errors import ApiKeyNotFound, ExpiryInPast, ScopeNotAllowed
from folio.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from folio.deps import API_V1, PageDep, SessionDep
from folio.errors import Forbidden
from folio.pagination import Page
from folio.routing import Router

router = Router(prefix=f"{API_V1}/api-keys", tags=["api-keys"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=authenticated(ScopeNotAllowed, Forbidden, ExpiryInPast),
    summary="Create an API key (the secret is returned only here)",
)
async def create_api_key(body: ApiKeyCreate, principal: CurrentPrincipal, session: SessionDep) -> ApiKeyCreated:
    key, secret = await keys_service.create_key(
        session, principal=principal, name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    return ApiKeyCreated.model_validate({**ApiKeyRead.model_validate(key).model_dump(), "secret": secret})


@router.get(
    "",
    response_model=Page[ApiKeyRead],
    responses=authenticated(),
    summary="List active API keys (admins see the organization's, others their own)",
)
async def list_api_keys(principal: CurrentPrincipal, session: SessionDep, page: PageDep) -> Page[ApiKeyRead]:
    keys = await keys_service.page_keys(session, principal=principal, page=page)
    return keys.to_page(ApiKeyRead.model_validate)


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=authenticated(ApiKeyNotFound),
    summary="Revoke an API key",
)
async def revoke_api_key(key_id: UUID, principal: CurrentPrincipal, session: SessionDep) -> None:
    await keys_service.revoke_key(session, principal=principal, key_id=key_id)
