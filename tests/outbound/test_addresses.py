"""The address classifier and the policy's static checks: every notation of an internal address is internal."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv4Network, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from folio.outbound.addresses import Internal, classify, classify_host, parse_address
from folio.outbound.errors import OutboundRefused
from folio.outbound.policy import OutboundPolicy

INTERNAL_HOSTS: dict[str, Internal] = {
    # IPv4 loopback, in every notation inet_aton reads.
    "127.0.0.1": Internal.LOOPBACK,
    "127.1": Internal.LOOPBACK,
    "127.0.1": Internal.LOOPBACK,
    "2130706433": Internal.LOOPBACK,
    "0x7f000001": Internal.LOOPBACK,
    "0x7f.1": Internal.LOOPBACK,
    "0x7F.0.0.1": Internal.LOOPBACK,
    "017700000001": Internal.LOOPBACK,
    "0177.0.0.1": Internal.LOOPBACK,
    "0177.1": Internal.LOOPBACK,
    "127.000.000.001": Internal.LOOPBACK,
    "127.0.0.1.": Internal.LOOPBACK,
    "127.255.255.254": Internal.LOOPBACK,
    # Unspecified: connecting to it reaches this host.
    "0.0.0.0": Internal.UNSPECIFIED,  # noqa: S104 -- an address under test, not a binding
    "0": Internal.UNSPECIFIED,
    "0x0": Internal.UNSPECIFIED,
    "00": Internal.UNSPECIFIED,
    "[::]": Internal.UNSPECIFIED,
    # Private, shared, link-local and cloud metadata.
    "10.0.0.1": Internal.PRIVATE,
    "167772161": Internal.PRIVATE,
    "172.16.5.4": Internal.PRIVATE,
    "172.31.255.255": Internal.PRIVATE,
    "192.168.1.1": Internal.PRIVATE,
    "100.64.0.1": Internal.SHARED,
    "169.254.1.1": Internal.LINK_LOCAL,
    "169.254.169.254": Internal.METADATA,
    "2852039166": Internal.METADATA,
    "0xa9.0xfe.0xa9.0xfe": Internal.METADATA,
    "0251.0376.0251.0376": Internal.METADATA,
    "169.254.43518": Internal.METADATA,
    "100.100.100.200": Internal.METADATA,
    "168.63.129.16": Internal.METADATA,
    "[fd00:ec2::254]": Internal.METADATA,
    # Multicast, broadcast and reserved ranges.
    "224.0.0.1": Internal.MULTICAST,
    "239.255.255.250": Internal.MULTICAST,
    "255.255.255.255": Internal.RESERVED,
    "240.0.0.1": Internal.RESERVED,
    "192.0.2.1": Internal.RESERVED,
    "198.18.0.1": Internal.RESERVED,
    # IPv6, with and without brackets, with a zone.
    "[::1]": Internal.LOOPBACK,
    "::1": Internal.LOOPBACK,
    "[0:0:0:0:0:0:0:1]": Internal.LOOPBACK,
    "[fe80::1]": Internal.LINK_LOCAL,
    "[fe80::1%25eth0]": Internal.LINK_LOCAL,
    "[fc00::1]": Internal.UNIQUE_LOCAL,
    "[fd12:3456:789a::1]": Internal.UNIQUE_LOCAL,
    "[fec0::1]": Internal.PRIVATE,
    "[ff02::1]": Internal.MULTICAST,
    "[2001:db8::1]": Internal.RESERVED,
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]": Internal.RESERVED,  # Teredo
    # IPv4 inside IPv6: mapped, NAT64, 6to4, and the old IPv4-compatible form.
    "[::ffff:127.0.0.1]": Internal.LOOPBACK,
    "[::ffff:7f00:1]": Internal.LOOPBACK,
    "[::ffff:169.254.169.254]": Internal.METADATA,
    "[::ffff:10.1.2.3]": Internal.PRIVATE,
    "[64:ff9b::127.0.0.1]": Internal.LOOPBACK,
    "[64:ff9b::a9fe:a9fe]": Internal.METADATA,
    "[2002:7f00:1::]": Internal.LOOPBACK,
    "[2002:c0a8:101::1]": Internal.PRIVATE,
    "[::127.0.0.1]": Internal.RESERVED,
    # Names that can only be internal.
    "localhost": Internal.LOOPBACK,
    "LOCALHOST.": Internal.LOOPBACK,
    "api.localhost": Internal.LOOPBACK,
    "localhost.localdomain": Internal.LOOPBACK,
    "%6c%6fcalhost": Internal.LOOPBACK,
    "metadata.google.internal": Internal.METADATA,
    "Metadata.Google.Internal.": Internal.METADATA,
    "metadata": Internal.METADATA,
    "ollama.internal": Internal.INTERNAL_NAME,
    "printer.local": Internal.INTERNAL_NAME,
    "router.home.arpa": Internal.INTERNAL_NAME,
    "redis": Internal.INTERNAL_NAME,
    # Not a host name at all.
    "exa mple.com": Internal.INVALID,
    "[not-an-address]": Internal.INVALID,
}
PUBLIC_HOSTS = [
    "8.8.8.8",
    "134744072",
    "0x8.0x8.0x8.0x8",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "[2606:4700:4700::1111]",
    "[::ffff:8.8.8.8]",
    "[64:ff9b::808:808]",
    "[2002:808:808::1]",
    "api.openai.com",
    "dashscope-intl.aliyuncs.com",
    "models.example.com",
    "exämple.com",
]


@pytest.mark.parametrize(("host", "reason"), INTERNAL_HOSTS.items())
def test_internal_hosts_in_every_notation(host: str, reason: Internal) -> None:
    assert classify_host(host) is reason


@pytest.mark.parametrize("host", PUBLIC_HOSTS)
def test_public_hosts_pass(host: str) -> None:
    assert classify_host(host) is None


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.258", "10.1.1.2"),
        ("0x7f.1", "127.0.0.1"),
        ("0300.0250.1.1", "192.168.1.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
    ],
)
def test_notations_are_read_as_inet_aton_reads_them(host: str, address: str) -> None:
    assert str(parse_address(host)) == address


@pytest.mark.parametrize("host", ["256.1.1.1", "1.2.3.4.5", "08.1.1.1", "1.2.3.0x", "1..2", "0x1g", "+1", "1_0"])
def test_what_is_not_an_address_is_left_to_the_resolver(host: str) -> None:
    assert parse_address(host) is None
    with pytest.raises(OSError, match="illegal IP address"):
        socket.inet_aton(host)


def _part(value: int, style: str) -> str:
    return {"dec": str(value), "oct": "0" + format(value, "o"), "hex": "0x" + format(value, "x")}[style]


@st.composite
def notations(draw: st.DrawFn, address: IPv4Address) -> str:
    """`address` written with one to four parts, each in decimal, octal or hex."""
    value = int(address)
    count = draw(st.integers(1, 4))
    octets = value.to_bytes(4, "big")
    leading = list(octets[: count - 1])
    last = int.from_bytes(octets[count - 1 :], "big")
    styles = st.sampled_from(["dec", "oct", "hex"])
    return ".".join(_part(part, draw(styles)) for part in [*leading, last])


internal_networks = st.sampled_from(
    [IPv4Network(n) for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16")]
)


@given(data=st.data(), network=internal_networks)
def test_every_notation_of_an_internal_address_is_internal(data: st.DataObject, network: IPv4Network) -> None:
    offset = data.draw(st.integers(0, network.num_addresses - 1))
    address = network[offset]
    notation = data.draw(notations(address))
    assert parse_address(notation) == address
    assert classify_host(notation) is classify(address) is not None
    # The same address inside IPv6 is just as internal.
    assert classify_host(f"[::ffff:{address}]") is classify(address)
    assert classify(IPv6Address(int(IPv6Address("64:ff9b::")) | int(address))) is classify(address)


@given(data=st.data(), value=st.integers(0, 2**32 - 1))
def test_the_parser_agrees_with_the_c_library(data: st.DataObject, value: int) -> None:
    notation = data.draw(notations(IPv4Address(value)))
    assert parse_address(notation) == IPv4Address(socket.inet_aton(notation))


def test_private_addresses_are_let_through_only_when_the_deployment_allows_them() -> None:
    strict, self_hosted = OutboundPolicy(), OutboundPolicy(allow_private=True)
    for url in ("http://127.0.0.1:11434/v1", "http://ollama.internal/v1", "http://[::1]/v1", "http://10.0.0.5/v1"):
        assert strict.url_refusal(url) is not None, url
        assert self_hosted.url_refusal(url) is None, url
    # Metadata services stay out of reach unless named.
    assert self_hosted.url_refusal("http://169.254.169.254/latest") == "the host is a metadata address"
    assert self_hosted.url_refusal("http://metadata.google.internal/") is not None
    assert OutboundPolicy(allow_private=True, allow_hosts=["169.254.169.254"]).url_refusal("http://0xa9fea9fe/") is None


async def test_a_listed_name_that_resolves_to_a_metadata_service_is_refused() -> None:
    async def metadata(host: str, port: int) -> list[str]:
        return ["169.254.169.254"]

    policy = OutboundPolicy(allow_private=True, allow_hosts=["ollama.internal"], resolver=metadata)
    with pytest.raises(OutboundRefused, match="metadata"):
        await policy.resolve("ollama.internal", 11434)
    listed = OutboundPolicy(
        allow_private=True, allow_hosts=["ollama.internal", "169.254.169.254/32"], resolver=metadata
    )
    assert await listed.resolve("ollama.internal", 11434) == ["169.254.169.254"]


def test_allow_hosts_narrow_which_internal_hosts_may_be_reached() -> None:
    policy = OutboundPolicy(allow_private=True, allow_hosts=["ollama.internal", "10.1.0.0/16", "::1"])
    assert policy.url_refusal("http://OLLAMA.internal:11434/v1") is None
    assert policy.url_refusal("http://10.1.2.3/v1") is None
    assert policy.url_refusal("http://[::1]/v1") is None
    assert policy.url_refusal("http://10.2.0.1/v1") is not None
    assert policy.url_refusal("http://127.0.0.1/v1") is not None
    assert policy.url_refusal("http://vllm.internal/v1") is not None
    # The list means nothing without allow_private.
    assert OutboundPolicy(allow_hosts=["ollama.internal"]).url_refusal("http://ollama.internal/v1") is not None


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("ftp://models.example.com/v1", "only http and https URLs are allowed"),
        ("file:///etc/passwd", "only http and https URLs are allowed"),
        ("https://user:pass@models.example.com/v1", "credentials in the URL are not allowed"),
        ("https://models.example.com@127.0.0.1/v1", "credentials in the URL are not allowed"),
        ("http:///v1", "the URL has no host"),
        ("http://models.example.com:99999/v1", "not a valid URL"),
    ],
)
def test_the_url_shape_is_checked(url: str, refusal: str) -> None:
    assert OutboundPolicy(allow_private=True).url_refusal(url) == refusal


def test_a_public_url_passes() -> None:
    assert OutboundPolicy().url_refusal("https://api.openai.com/v1") is None
