"""Folio's router skips the routes of a router whose prefix the request's path lies outside."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Match
from starlette.types import Scope

from folio.routing import Router


class CountedRoute(APIRoute):
    tried: list[str] = []

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        CountedRoute.tried.append(self.path)
        return super().matches(scope)


def counted_app() -> FastAPI:
    app = FastAPI()
    first = Router(prefix="/documents", route_class=CountedRoute)
    units = Router(prefix="/orgs/{org_id}/units", route_class=CountedRoute)
    last = Router(prefix="/inbox", route_class=CountedRoute)

    async def answer() -> dict[str, str]:
        return {}

    for router, paths in ((first, ("", "/{document_id}")), (units, ("", "/{unit_id}")), (last, ("",))):
        for path in paths:
            router.add_api_route(path, answer)
        app.include_router(router)
    return app


async def test_a_request_tries_no_route_of_a_router_whose_prefix_it_lies_outside() -> None:
    app = counted_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        CountedRoute.tried.clear()
        assert (await client.get("/inbox")).status_code == 200
        assert set(CountedRoute.tried) == {"/inbox"}

        CountedRoute.tried.clear()
        assert (await client.get("/orgs/7/units/3")).status_code == 200
        assert set(CountedRoute.tried) == {"/orgs/{org_id}/units", "/orgs/{org_id}/units/{unit_id}"}

        CountedRoute.tried.clear()
        assert (await client.get("/documents/12")).status_code == 200
        assert (await client.get("/nowhere")).status_code == 404
        assert set(CountedRoute.tried) == {"/documents", "/documents/{document_id}"}


def test_every_route_of_the_app_has_its_own_path_no_router_is_included_under_a_prefix(app: FastAPI) -> None:
    paths = [
        (context.path_format, route.path_format)
        for context in iter_route_contexts(app.routes)
        if isinstance(route := context.original_route, APIRoute)
    ]
    assert len(paths) > 100
    for effective, own in paths:
        assert effective == own, "Router matches on its own prefix alone"
