"""Folio's router: FastAPI's, except that a request outside a router's prefix skips its routes at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope


class Router(APIRouter):
    """FastAPI tries every route of every included router in turn, its prefix unchecked: a request to a router
    included late paid for each route before it (`/api/v1/inbox` ~0.28 ms more than `/auth/me`, a path matching no
    route ~0.6 ms, the costliest request an anonymous client could make). This one answers "no match" for a path
    outside its prefix without trying them; the literal part of the prefix, up to a path parameter, is what it
    compares.

    Its routes' paths start with that prefix as long as nobody includes it under a prefix of its own: Folio's
    routers are included as they are (tests/test_routing.py checks every route's path is its own)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._literal_prefix = self.prefix.split("{", 1)[0]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not get_route_path(scope).startswith(self._literal_prefix):
            return Match.NONE, {}
        return super().matches(scope)
