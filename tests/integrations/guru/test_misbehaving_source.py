"""The connector against a server that pages wrongly: a card on two pages, a next page already read."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from folio.integrations.connectors.guru import GuruConnector
from folio.integrations.errors import SourceUnavailable
from tests.integrations.fakes.guru import fake_id
from tests.integrations.guru.conftest import Connect
from tests.live_server import serve_in_thread


def _card(serial: int) -> dict[str, object]:
    return {"id": fake_id(2, serial), "preferredPhrase": f"Card {serial}", "content": "<p>x</p>", "version": 1}


async def _search(request: Request) -> JSONResponse:
    """Page 1 holds cards 1 and 2, page 2 cards 2 and 3 and sends back to page 1."""
    page = request.query_params.get("token", "1")
    cards = [_card(1), _card(2)] if page == "1" else [_card(2), _card(3)]
    following = "2" if page == "1" else "1"
    link = f'<{str(request.base_url).rstrip("/")}/api/v1/search/cardmgr?token={following}>; rel="next-page"'
    return JSONResponse(cards, headers={"Link": link})


async def _drain(guru: GuruConnector, into: list[str]) -> None:
    async for item in guru.listing({}):
        into.append(item.external_id)


async def test_a_card_on_two_pages_is_listed_once_and_a_circle_is_a_failure(connect: Connect) -> None:
    app = Starlette(routes=[Route("/api/v1/search/cardmgr", _search, methods=["POST"])])
    listed: list[str] = []
    with serve_in_thread(app, lifespan="off") as url:
        async with connect(url=url) as guru:
            with pytest.raises(SourceUnavailable):
                await _drain(guru, listed)
    assert listed == [fake_id(2, 1), fake_id(2, 2), fake_id(2, 3)]
