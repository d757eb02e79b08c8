"""Accounts and sessions (`/auth`), and API keys (`/api-keys`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast
from uuid import UUID

from folio_client._core import Call, Core, Flow, Refresh, path
from folio_client.models import ApiKey, ApiKeyCreated, Me, Registration, Scope, Tokens
from folio_client.pagination import AsyncPager, PageData, SyncPage
from folio_client.resources._base import AsyncResource, SyncResource, query


def _register(core: Core, email: str, password: str, name: str) -> Flow[Registration]:
    body = {"email": email, "password": password, "name": name}
    call = Call("POST", path("/auth/register"), json=body, authenticated=False)
    registration = yield from core.fetch(call, Registration)
    core.credentials.take(registration)
    return registration


def _login(core: Core, email: str, password: str) -> Flow[Tokens]:
    call = Call("POST", path("/auth/login"), json={"email": email, "password": password}, authenticated=False)
    tokens = yield from core.fetch(call, Tokens)
    core.credentials.take(tokens)
    return tokens


def _refresh() -> Flow[Tokens]:
    tokens = yield Refresh(None)
    return cast(Tokens, tokens)


def _logout(core: Core) -> Flow[None]:
    yield from core.send(Call("POST", path("/auth/logout")))
    core.credentials.access_token = core.credentials.refresh_token = None


def _create_key(core: Core, name: str, scopes: Sequence[Scope], expires_at: datetime | None) -> Flow[ApiKeyCreated]:
    body = {"name": name, "scopes": list(scopes), "expires_at": expires_at}
    return core.fetch(Call("POST", path("/api-keys"), json=body), ApiKeyCreated)


def _list_keys(core: Core, limit: int | None, cursor: str | None) -> Flow[PageData[ApiKey]]:
    return core.fetch(Call("GET", path("/api-keys"), params=query(limit=limit, cursor=cursor)), PageData[ApiKey])


def _revoke_key(core: Core, key_id: UUID | str) -> Flow[None]:
    yield from core.send(Call("DELETE", path("/api-keys/{}", key_id)))


class Auth(SyncResource):
    def register(self, email: str, password: str, name: str) -> Registration:
        """Create an account (and its own organization); the client then acts as it."""
        return self._run(_register(self._core, email, password, name))

    def login(self, email: str, password: str) -> Tokens:
        """Sign in; the client then sends the access token and renews it with the refresh token when the server
        says it expired."""
        return self._run(_login(self._core, email, password))

    def refresh(self) -> Tokens:
        """Renew the tokens now (the client also does it by itself when the access token expires)."""
        return self._run(_refresh())

    def logout(self) -> None:
        """End the session: its tokens stop working, here and everywhere."""
        self._run(_logout(self._core))

    def me(self) -> Me:
        return self._run(self._core.fetch(Call("GET", path("/auth/me")), Me))


class AsyncAuth(AsyncResource):
    async def register(self, email: str, password: str, name: str) -> Registration:
        return await self._run(_register(self._core, email, password, name))

    async def login(self, email: str, password: str) -> Tokens:
        return await self._run(_login(self._core, email, password))

    async def refresh(self) -> Tokens:
        return await self._run(_refresh())

    async def logout(self) -> None:
        await self._run(_logout(self._core))

    async def me(self) -> Me:
        return await self._run(self._core.fetch(Call("GET", path("/auth/me")), Me))


class ApiKeys(SyncResource):
    def create(self, name: str, scopes: Sequence[Scope], *, expires_at: datetime | None = None) -> ApiKeyCreated:
        """A new key; its `secret` is shown only now."""
        return self._run(_create_key(self._core, name, scopes, expires_at))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> SyncPage[ApiKey]:
        return self._pages(lambda at: _list_keys(self._core, limit, at), cursor)

    def revoke(self, key_id: UUID | str) -> None:
        self._run(_revoke_key(self._core, key_id))


class AsyncApiKeys(AsyncResource):
    async def create(self, name: str, scopes: Sequence[Scope], *, expires_at: datetime | None = None) -> ApiKeyCreated:
        return await self._run(_create_key(self._core, name, scopes, expires_at))

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> AsyncPager[ApiKey]:
        return self._pages(lambda at: _list_keys(self._core, limit, at), cursor)

    async def revoke(self, key_id: UUID | str) -> None:
        await self._run(_revoke_key(self._core, key_id))
