"""The rules for tenant-given URLs: their shape, their host, and every address their host resolves to."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable
from ipaddress import IPv4Network, IPv6Network, ip_network
from urllib.parse import urlsplit

from folio.outbound.addresses import Address, Internal, address_of, classify, classify_host, normalise, parse_address
from folio.outbound.errors import OutboundRefused
from folio.settings import OutboundSettings

# (host, port) -> the addresses it resolves to, as text.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_host(host: str, port: int) -> list[str]:
    """The system resolver, run by the event loop's executor (never blocking the loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class OutboundPolicy:
    """What a deployment lets tenant-given URLs reach.

    `url_refusal` is the cheap check made when a URL is configured (its shape, and a host that is internal without
    resolving it: an address literal in any notation, localhost, a metadata name, a single label, a reserved
    suffix). `resolve` is the wall, run for every new connection: every address the host resolves to at that moment
    is checked, and the connection goes to a checked address, so a name that resolves elsewhere later (DNS
    rebinding) is caught then.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allow_hosts: Iterable[str] = (),
        connect_timeout: float = 5.0,
        timeout: float = 30.0,
        max_response_bytes: int = 10 * 1024 * 1024,
        resolver: Resolver | None = None,
    ) -> None:
        self.allow_private = allow_private
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.resolver = resolver
        self._names: set[str] = set()
        self._networks: list[IPv4Network | IPv6Network] = []
        for entry in allow_hosts:
            literal = parse_address(entry)
            if literal is not None:
                self._networks.append(ip_network(literal))
                continue
            try:
                self._networks.append(ip_network(entry.strip(), strict=False))
            except ValueError:
                self._names.add(normalise(entry))

    @classmethod
    def from_settings(cls, settings: OutboundSettings, *, max_response_bytes: int | None = None) -> OutboundPolicy:
        """The deployment's policy; `max_response_bytes` for bodies of another size than answers are (a document)."""
        return cls(
            allow_private=settings.allow_private,
            allow_hosts=settings.allow_hosts,
            connect_timeout=settings.connect_timeout_seconds,
            timeout=settings.timeout_seconds,
            max_response_bytes=settings.max_response_kb * 1024 if max_response_bytes is None else max_response_bytes,
        )

    def url_refusal(self, url: str) -> str | None:
        """Why `url` may not be used, judged without resolving its host; None: it may be tried."""
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 -- raises on a port out of range
        except ValueError:
            return "not a valid URL"
        if parts.scheme not in {"http", "https"}:
            return "only http and https URLs are allowed"
        if parts.username is not None or parts.password is not None:
            return "credentials in the URL are not allowed"
        if not parts.hostname:
            return "the URL has no host"
        reason = self.host_refusal(parts.hostname)
        return None if reason is None else f"the host is {_described(reason)}"

    def host_refusal(self, host: str) -> Internal | None:
        """Why `host` may not be reached, judged without resolving it."""
        reason = classify_host(host)
        if reason is None or reason is Internal.INVALID:
            return reason
        return None if self._may_reach(host, parse_address(host), reason) else reason

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses a connection to `host` may use: all it resolves to, each checked.

        Raises `OutboundRefused` when the host or any of its addresses is refused (a name that also resolves to an
        internal address is not used at all), `TimeoutError` after the connect timeout, `OSError` when the name does
        not resolve.
        """
        reason = self.host_refusal(host)
        if reason is not None:
            raise OutboundRefused(host, reason)
        literal = parse_address(host)
        if literal is not None:
            return [str(literal)]
        async with asyncio.timeout(self.connect_timeout):
            # Looked up at call time, so a test can stand in for the system's resolver.
            addresses = await (self.resolver or resolve_host)(host, port)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
        for text in addresses:
            address = address_of(text)
            if address is None:
                raise OutboundRefused(host, Internal.INVALID)
            reason = classify(address)
            if reason is not None and not self._may_reach(host, address, reason):
                raise OutboundRefused(host, reason)
        return addresses

    def _may_reach(self, host: str, address: Address | None, reason: Internal) -> bool:
        if not self.allow_private:
            return False
        listed_address = address is not None and any(address in network for network in self._networks)
        listed_name = normalise(host) in self._names
        if reason is Internal.METADATA:
            # Only by its address: a listed name that resolves to a metadata service does not open it.
            return listed_address if address is not None else listed_name
        return listed_address or listed_name or not (self._names or self._networks)


def _described(reason: Internal) -> str:
    if reason is Internal.INVALID:
        return "not a valid host name"
    if reason is Internal.INTERNAL_NAME:
        return "a name of an internal network"
    return f"a {reason.value} address"
