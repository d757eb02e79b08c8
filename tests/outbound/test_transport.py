"""The guarded client (httpx2) against a real local server and a scripted network: resolved, checked and
pinned addresses, DNS rebinding caught at the next connection, no redirects, capped and uncompressed bodies."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from folio.outbound import OutboundPolicy, OutboundRefused, ResponseRefused, guarded_client
from folio.outbound.policy import resolve_host
from tests.live_server import serve_in_thread
from tests.outbound.network import answering

LIMIT = 1024
PUBLIC = "93.184.216.34"


class Server:
    def __init__(self) -> None:
        self.url = ""
        self.hits: list[str] = []

    async def ok(self, request: Request) -> Response:
        self.hits.append(request.url.path)
        return JSONResponse({"ok": True, "accept-encoding": request.headers.get("accept-encoding")})

    async def big(self, request: Request) -> Response:
        self.hits.append(request.url.path)
        return Response(b"x" * (LIMIT + 1))

    async def big_stream(self, request: Request) -> Response:
        self.hits.append(request.url.path)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(8):
                yield b"y" * (LIMIT // 4)

        return StreamingResponse(chunks())

    async def compressed(self, request: Request) -> Response:
        self.hits.append(request.url.path)
        return Response(gzip.compress(b"z" * 100), headers={"content-encoding": "gzip"})

    async def redirect(self, request: Request) -> Response:
        self.hits.append(request.url.path)
        return RedirectResponse("/ok", status_code=302)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    state = Server()
    app = Starlette(
        routes=[
            Route("/ok", state.ok),
            Route("/big", state.big),
            Route("/big-stream", state.big_stream),
            Route("/compressed", state.compressed),
            Route("/redirect", state.redirect),
        ]
    )
    with serve_in_thread(app, lifespan="off") as url:
        state.url = url
        yield state


@pytest.fixture(autouse=True)
def _forget_hits(server: Server) -> None:
    server.hits.clear()


Make = Callable[..., Any]
CLIENTS = pytest.mark.parametrize("make", [guarded_client], ids=["httpx2"])
CONNECT_TIMEOUTS = {guarded_client: httpx2.ConnectTimeout}


class Resolver:
    """Answers each lookup with the next of `answers`, as a DNS server under an attacker's control would."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return self.answers.pop(0)


@CLIENTS
async def test_a_name_that_resolves_to_loopback_is_refused_before_connecting(make: Make, server: Server) -> None:
    resolver = Resolver(["127.0.0.1"])
    port = server.url.rsplit(":", 1)[1]
    async with make(OutboundPolicy(resolver=resolver)) as client:
        with pytest.raises(OutboundRefused) as raised:
            await client.get(f"http://models.example.com:{port}/ok")
    assert raised.value.reason == "loopback"
    assert resolver.asked == ["models.example.com"]
    assert server.hits == []


@CLIENTS
async def test_one_internal_address_among_public_ones_refuses_the_name(make: Make) -> None:
    network = answering(200, b"ok")
    policy = OutboundPolicy(resolver=Resolver([PUBLIC, "::ffff:169.254.169.254"]))
    async with make(policy, network_backend=cast(Any, network)) as client:
        with pytest.raises(OutboundRefused) as raised:
            await client.get("http://models.example.com/v1")
    assert raised.value.reason == "metadata"
    assert network.connected == []


@CLIENTS
async def test_the_checked_address_is_pinned_and_rebinding_is_caught_at_the_next_connection(make: Make) -> None:
    network = answering(200, b"ok")
    resolver = Resolver([PUBLIC], ["127.0.0.1"])
    async with make(OutboundPolicy(resolver=resolver), network_backend=cast(Any, network)) as client:
        first = await client.get("http://models.example.com/v1/models")
        assert first.status_code == 200
        # The socket went to the address that was checked; the request still names the host.
        assert network.connected == [PUBLIC]
        assert b"Host: models.example.com" in network.sent
        assert b"Accept-Encoding: identity" in network.sent

        # The server closed the connection, so the next request resolves again: now to loopback.
        with pytest.raises(OutboundRefused):
            await client.get("http://models.example.com/v1/models")
    assert resolver.asked == ["models.example.com", "models.example.com"]
    assert network.connected == [PUBLIC]


@CLIENTS
async def test_a_self_hosted_deployment_reaches_its_own_network(make: Make, server: Server) -> None:
    async with make(OutboundPolicy(allow_private=True)) as client:
        response = await client.get(f"{server.url}/ok")
    assert response.json() == {"ok": True, "accept-encoding": "identity"}


@CLIENTS
async def test_allow_hosts_limit_which_internal_hosts_are_reached(make: Make, server: Server) -> None:
    async with make(OutboundPolicy(allow_private=True, allow_hosts=["10.0.0.0/8"])) as client:
        with pytest.raises(OutboundRefused):
            await client.get(f"{server.url}/ok")
    assert server.hits == []


@CLIENTS
async def test_redirects_are_not_followed(make: Make, server: Server) -> None:
    async with make(OutboundPolicy(allow_private=True)) as client:
        response = await client.get(f"{server.url}/redirect")
    assert response.status_code == 302
    assert server.hits == ["/redirect"]


@CLIENTS
@pytest.mark.parametrize("path", ["/big", "/big-stream"])
async def test_bodies_over_the_cap_are_refused(make: Make, server: Server, path: str) -> None:
    async with make(OutboundPolicy(allow_private=True, max_response_bytes=LIMIT)) as client:
        with pytest.raises(ResponseRefused):
            await client.get(f"{server.url}{path}")
        # The connection pool is still usable after a refusal.
        assert (await client.get(f"{server.url}/ok")).status_code == 200


@CLIENTS
async def test_a_compressed_body_is_refused_as_identity_was_asked_for(make: Make, server: Server) -> None:
    async with make(OutboundPolicy(allow_private=True)) as client:
        with pytest.raises(ResponseRefused):
            await client.get(f"{server.url}/compressed")


@CLIENTS
async def test_credentials_in_the_url_are_refused(make: Make) -> None:
    network = answering(200, b"ok")
    async with make(OutboundPolicy(resolver=Resolver([PUBLIC])), network_backend=cast(Any, network)) as client:
        with pytest.raises(OutboundRefused):
            await client.get("http://admin:secret@models.example.com/v1")
    assert network.connected == []


@CLIENTS
async def test_a_resolver_that_hangs_is_a_connect_timeout(make: Make) -> None:
    async def hanging(host: str, port: int) -> list[str]:
        await asyncio.sleep(3600)
        return [PUBLIC]

    async with make(OutboundPolicy(resolver=hanging, connect_timeout=0.05)) as client:
        with pytest.raises(CONNECT_TIMEOUTS[make]):
            await client.get("http://models.example.com/v1")


async def test_the_system_resolver_runs_on_the_event_loop() -> None:
    assert "127.0.0.1" in await resolve_host("localhost", 80)
