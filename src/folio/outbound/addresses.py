"""Which hosts and addresses are internal, in every notation a URL or a resolver may use.

An address is refused when it is not plainly on the public internet: loopback, private, shared (carrier-grade NAT),
link-local, unique-local, site-local, multicast, unspecified, documentation, benchmarking or reserved ranges, and
the cloud metadata services. IPv6 addresses that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, NAT64
`64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address inside. A host is parsed the way the C library's
`inet_aton` reads it, so `2130706433`, `127.1`, `0x7f.1` and `0177.0.0.1` are all 127.0.0.1.
"""

from __future__ import annotations

import re
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from urllib.parse import unquote

Address = IPv4Address | IPv6Address


class Internal(StrEnum):
    """Why an address or a name is internal."""

    LOOPBACK = "loopback"
    PRIVATE = "private"
    SHARED = "shared"
    LINK_LOCAL = "link-local"
    UNIQUE_LOCAL = "unique-local"
    METADATA = "metadata"
    MULTICAST = "multicast"
    UNSPECIFIED = "unspecified"
    RESERVED = "reserved"
    INTERNAL_NAME = "internal-name"
    INVALID = "invalid"


# Metadata services first: they sit inside wider ranges (link-local, shared, unique-local) and stay refused even
# when private addresses are allowed. 168.63.129.16 is Azure's host endpoint, a public address only the VM reaches.
_IPV4: tuple[tuple[IPv4Network, Internal], ...] = tuple(
    (IPv4Network(network), reason)
    for network, reason in (
        ("169.254.169.254/32", Internal.METADATA),
        ("169.254.170.2/32", Internal.METADATA),
        ("100.100.100.200/32", Internal.METADATA),
        ("168.63.129.16/32", Internal.METADATA),
        ("0.0.0.0/8", Internal.UNSPECIFIED),
        ("127.0.0.0/8", Internal.LOOPBACK),
        ("10.0.0.0/8", Internal.PRIVATE),
        ("172.16.0.0/12", Internal.PRIVATE),
        ("192.168.0.0/16", Internal.PRIVATE),
        ("100.64.0.0/10", Internal.SHARED),
        ("169.254.0.0/16", Internal.LINK_LOCAL),
        ("192.0.0.0/24", Internal.RESERVED),
        ("192.0.2.0/24", Internal.RESERVED),
        ("192.88.99.0/24", Internal.RESERVED),
        ("198.18.0.0/15", Internal.RESERVED),
        ("198.51.100.0/24", Internal.RESERVED),
        ("203.0.113.0/24", Internal.RESERVED),
        ("224.0.0.0/4", Internal.MULTICAST),
        ("240.0.0.0/4", Internal.RESERVED),
    )
)
_IPV6: tuple[tuple[IPv6Network, Internal], ...] = tuple(
    (IPv6Network(network), reason)
    for network, reason in (
        ("fd00:ec2::254/128", Internal.METADATA),
        ("::/128", Internal.UNSPECIFIED),
        ("::1/128", Internal.LOOPBACK),
        ("64:ff9b:1::/48", Internal.PRIVATE),
        ("100::/64", Internal.RESERVED),
        ("2001::/23", Internal.RESERVED),
        ("2001:db8::/32", Internal.RESERVED),
        ("3fff::/20", Internal.RESERVED),
        ("5f00::/16", Internal.RESERVED),
        ("fc00::/7", Internal.UNIQUE_LOCAL),
        ("fe80::/10", Internal.LINK_LOCAL),
        ("fec0::/10", Internal.PRIVATE),
        ("ff00::/8", Internal.MULTICAST),
        ("::/8", Internal.RESERVED),
    )
)
_NAT64 = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = IPv6Network("2002::/16")

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
# Suffixes reserved for private networks (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal): no public name ends so.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".localdomain", ".internal", ".home.arpa", ".arpa", ".test", ".invalid")
_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*")
_DECIMAL = re.compile(r"[1-9][0-9]*")
_OCTAL = re.compile(r"0[0-7]*")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")


def classify(address: Address) -> Internal | None:
    """Why `address` is internal; None when it is a public internet address."""
    if isinstance(address, IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return classify(embedded)
        if address.scope_id:
            return Internal.LINK_LOCAL
        for network6, reason in _IPV6:
            if address in network6:
                return reason
    else:
        for network4, reason in _IPV4:
            if address in network4:
                return reason
    # Whatever else Python's own table knows to be special.
    return None if address.is_global and not address.is_multicast else Internal.RESERVED


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv4-mapped, NAT64 (well-known prefix) or 6to4 address leads to."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    return None


def parse_address(host: str) -> Address | None:
    """The address `host` denotes in any notation (IPv6 with or without brackets or a zone, IPv4 dotted with one to
    four parts in decimal, octal or hex); None for a name."""
    host = normalise(host)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return IPv6Address(host)
        except ValueError:
            return None
    return _inet_aton(host)


def classify_host(host: str) -> Internal | None:
    """Why the host of a URL is internal without resolving it: an internal address literal, or a name that can only
    be internal (localhost, metadata services, single labels, reserved suffixes); None: resolve and check."""
    address = parse_address(host)
    if address is not None:
        return classify(address)
    name = normalise(host)
    if name.startswith("[") or not name.isascii() or not _NAME.fullmatch(name):
        return Internal.INVALID
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return Internal.LOOPBACK
    if name in _METADATA_NAMES:
        return Internal.METADATA
    if "." not in name or name.endswith(_INTERNAL_SUFFIXES):
        # A single label is completed by the resolver's search domains: a name of the deployment's own network.
        return Internal.INTERNAL_NAME
    return None


def normalise(host: str) -> str:
    """Lower case, percent-escapes decoded, IDNA applied, one trailing dot dropped (`LOCALHOST.` is `localhost`)."""
    host = unquote(host).strip().lower()
    if host.endswith(".") and not host.endswith(".."):
        host = host[:-1]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return host
    return host


def _inet_aton(host: str) -> IPv4Address | None:
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers: list[int] = []
    for part in parts:
        if _HEX.fullmatch(part):
            numbers.append(int(part[2:], 16))
        elif _OCTAL.fullmatch(part):
            numbers.append(int(part, 8))
        elif _DECIMAL.fullmatch(part):
            numbers.append(int(part))
        else:
            return None
    *leading, last = numbers
    if any(number > 0xFF for number in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for position, number in enumerate(leading):
        value |= number << (8 * (3 - position))
    return IPv4Address(value)


def address_of(text: str) -> Address | None:
    """An address as a resolver returns it (`fe80::1%eth0` included); None if it is not one."""
    try:
        return ip_address(text)
    except ValueError:
        return None
