"""The HTTP client for tenant-given URLs, on httpx2: the `openai` SDK is built on it, and one library means one
guard to keep right.

The guard sits in the connection pool's network backend, which the pool calls for every new connection: the host is
resolved there, every address is checked by the policy, and the socket is opened to a checked address while the URL
(hence the Host header, TLS SNI and certificate check) keeps the name. Redirects are not followed (and one a caller
follows anyway comes back through the same check), proxies from the environment are ignored, `Accept-Encoding: identity`
is asked for so that the body cap counts what will be parsed, and bodies beyond the cap raise `ResponseRefused`.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar
from urllib.parse import urlsplit

import httpcore2
import httpx2

from folio.outbound.errors import OutboundRefused, ResponseRefused
from folio.outbound.policy import OutboundPolicy

_Stream = TypeVar("_Stream")
# Per client, that is per model endpoint: the organization's concurrency bounds the calls well below this.
MAX_CONNECTIONS, MAX_KEEPALIVE, KEEPALIVE_SECONDS = 20, 5, 30.0


async def _connect(
    policy: OutboundPolicy,
    host: str,
    port: int,
    attempt: Callable[[str], Awaitable[_Stream]],
    connect_error: type[Exception],
    connect_timeout: type[Exception],
) -> _Stream:
    """A stream to the first checked address of `host` that accepts the connection."""
    try:
        addresses = await policy.resolve(host, port)
    except TimeoutError as exc:
        raise connect_timeout(f"Resolving {host} took longer than {policy.connect_timeout:g} s.") from exc
    except OSError as exc:  # the name does not resolve
        raise connect_error(f"{host} could not be resolved.") from exc
    failure: Exception = connect_error(f"{host} has no address to connect to.")
    for address in addresses:
        try:
            return await attempt(address)
        except connect_error as exc:
            failure = exc
    raise failure


def _refuse_unasked(policy: OutboundPolicy, url: str) -> None:
    refusal = policy.url_refusal(url)
    if refusal is not None:
        raise OutboundRefused(urlsplit(url).hostname or url, refusal)


def _check_headers(headers: Iterable[tuple[str, str]], limit: int) -> None:
    for name, value in headers:
        name = name.lower()
        if name == "content-encoding" and value.strip().lower() not in {"", "identity"}:
            raise ResponseRefused(f"The response is {value}-encoded though identity was asked for.")
        if name == "content-length" and value.strip().isdigit() and int(value) > limit:
            raise ResponseRefused(f"The response announces {value} bytes; at most {limit} are read.")


async def _capped(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise ResponseRefused(f"The response is larger than {limit} bytes.")
        yield chunk


class _Backend(httpcore2.AsyncNetworkBackend):
    def __init__(self, policy: OutboundPolicy, inner: httpcore2.AsyncNetworkBackend) -> None:
        self.policy = policy
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        async def attempt(address: str) -> httpcore2.AsyncNetworkStream:
            return await self.inner.connect_tcp(address, port, timeout, local_address, socket_options)

        return await _connect(self.policy, host, port, attempt, httpcore2.ConnectError, httpcore2.ConnectTimeout)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 -- httpcore's interface
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise OutboundRefused(path, "unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, limit: int) -> None:
        self.inner = inner
        self.limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in _capped(aiter(self.inner), self.limit):
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """The system's CA bundle loaded once per process (about 20 ms, on the event loop, each time a transport is
    made): a context is only read once configured, so every transport shares it."""
    return httpx2.create_ssl_context(trust_env=False)


class GuardedTransport(httpx2.AsyncHTTPTransport):
    """httpx2 transport that connects only where `policy` allows and caps response bodies."""

    def __init__(
        self,
        policy: OutboundPolicy,
        *,
        limits: httpx2.Limits | None = None,
        network_backend: httpcore2.AsyncNetworkBackend | None = None,
    ) -> None:
        limits = limits or httpx2.Limits(
            max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE, keepalive_expiry=KEEPALIVE_SECONDS
        )
        context = _ssl_context()
        super().__init__(verify=context, trust_env=False, limits=limits)
        self.policy = policy
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(policy, network_backend or httpcore2.AnyIOBackend()),
        )

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        _refuse_unasked(self.policy, str(request.url))
        request.headers["Accept-Encoding"] = "identity"
        response = await super().handle_async_request(request)
        try:
            _check_headers(response.headers.multi_items(), self.policy.max_response_bytes)
        except ResponseRefused:
            await response.aclose()
            raise
        if isinstance(response.stream, httpx2.AsyncByteStream):  # always, from an async transport
            response.stream = _CappedStream(response.stream, self.policy.max_response_bytes)
        return response


def guarded_client(
    policy: OutboundPolicy,
    *,
    timeout: float | None = None,
    network_backend: httpcore2.AsyncNetworkBackend | None = None,
) -> httpx2.AsyncClient:
    """An httpx2 client for tenant-given URLs (the `openai` SDK's `http_client`, and any call of our own): `timeout`
    for reads and writes (default the policy's), the policy's connect timeout, no redirects, no environment
    proxies."""
    return httpx2.AsyncClient(
        transport=GuardedTransport(policy, network_backend=network_backend),
        timeout=httpx2.Timeout(timeout or policy.timeout, connect=policy.connect_timeout),
        follow_redirects=False,
        trust_env=False,
    )
