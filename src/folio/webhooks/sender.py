"""One POST of a delivery through the guarded outbound client, and what came back.

The receiver's URL is a tenant's, so the guard resolves and checks its host for the connection (no internal
address in any notation, unless the operator allows it), redirects are not followed (a 3xx is a failed attempt),
and the whole attempt has `seconds`. Only the first KiB of the answer is read, kept as the excerpt the delivery log
shows: it is what the receiver sent, never our own error text, and only from a public address. A deployment that
lets tenants reach internal addresses (FOLIO_OUTBOUND__ALLOW_PRIVATE) would otherwise let a webhook read its
internal services; their answers keep their status code and latency, not their body.
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import anyio
import httpcore2
import httpx2

from folio.models import DeliveryError
from folio.outbound import OutboundPolicy, OutboundRefused, ResponseRefused, guarded_client, resolve_host
from folio.outbound.addresses import address_of, classify, classify_host

EXCERPT_BYTES = 1024
USER_AGENT = "Folio-Webhooks/1.0"


@dataclass(frozen=True, slots=True)
class Outcome:
    response_status: int | None
    latency_ms: int
    excerpt: str | None
    error: DeliveryError | None

    @property
    def succeeded(self) -> bool:
        return self.error is None

    def describe(self) -> str:
        if self.response_status is not None:
            return f"The receiver answered HTTP {self.response_status}."
        return f"The delivery failed: {self.error}."


class _Watched:
    """The policy, noting every address the receiver's name resolves to for the connection."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.addresses: list[str] = []
        self.policy = copy.copy(policy)
        resolver = policy.resolver or resolve_host

        async def noting(host: str, port: int) -> list[str]:
            answer = await resolver(host, port)
            self.addresses.extend(answer)
            return answer

        self.policy.resolver = noting

    def reached_internal(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        if classify_host(host) is not None:
            return True
        return any((address := address_of(text)) is None or classify(address) is not None for text in self.addresses)


async def post(
    policy: OutboundPolicy,
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    seconds: float,
    network_backend: httpcore2.AsyncNetworkBackend | None = None,
) -> Outcome:
    """`network_backend` stands in for the network in tests."""
    started = time.monotonic()
    status: int | None = None
    received = bytearray()
    error: DeliveryError | None = None
    watched = _Watched(policy)
    # The client loads the CA bundle (tens of milliseconds of CPU): in a thread, not on the event loop.
    client = await anyio.to_thread.run_sync(
        partial(guarded_client, watched.policy, timeout=seconds, network_backend=network_backend)
    )
    try:
        async with client, asyncio.timeout(seconds):
            request = client.build_request("POST", url, content=body, headers={**headers, "user-agent": USER_AGENT})
            response = await client.send(request, stream=True)
            try:
                status = response.status_code
                await _read_excerpt(response, received)
            finally:
                await response.aclose()
    except (TimeoutError, httpx2.TimeoutException):
        error = DeliveryError.TIMEOUT
    except OutboundRefused:
        error = DeliveryError.ADDRESS_REFUSED
    except ResponseRefused:
        error = DeliveryError.RESPONSE_REFUSED
    except (httpx2.HTTPError, httpx2.InvalidURL):
        error = DeliveryError.CONNECT_FAILED
    latency_ms = round((time.monotonic() - started) * 1000)
    if status is None:
        return Outcome(None, latency_ms, None, error)
    # Once the status line is in, it decides: a body cut short by the deadline only shortens the excerpt.
    excerpt = None if watched.reached_internal(url) else _text(bytes(received))
    return Outcome(status, latency_ms, excerpt, _judged(status))


def _judged(status: int) -> DeliveryError | None:
    if 200 <= status < 300:
        return None
    # A redirect is never followed: the receiver must answer at the URL it gave.
    return DeliveryError.REDIRECT if 300 <= status < 400 else DeliveryError.HTTP_STATUS


async def _read_excerpt(response: httpx2.Response, received: bytearray) -> None:
    try:
        async for chunk in response.aiter_raw():
            received += chunk[: EXCERPT_BYTES - len(received)]
            if len(received) >= EXCERPT_BYTES:
                return
    except (httpx2.HTTPError, ResponseRefused):
        return  # the status is in; what the body would have added does not change the outcome


def _text(excerpt: bytes) -> str:
    # PostgreSQL text holds no NUL; a multi-byte character cut at the end becomes U+FFFD.
    return excerpt.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
