"""One attempt against a scripted network: a public receiver's answer is kept to a KiB (NUL-free), an internal
receiver's (reachable only because the deployment allows it) is not kept at all, whatever its name."""

from __future__ import annotations

from typing import Any, cast

import pytest

from folio.outbound import OutboundPolicy
from folio.webhooks.sender import post
from tests.outbound.network import answering

PUBLIC = "93.184.216.34"
BODY = b"\x00" + ("\u00e9" + "abcdefghij" * 800).encode()


def resolving_to(address: str) -> Any:
    async def resolve(host: str, port: int) -> list[str]:
        return [address]

    return resolve


async def test_a_public_receivers_answer_is_kept_to_a_kib() -> None:
    network = answering(500, BODY)
    outcome = await post(
        OutboundPolicy(resolver=resolving_to(PUBLIC)),
        "http://hooks.example.com/in",
        body=b"{}",
        headers={"webhook-id": "msg_1"},
        seconds=5,
        network_backend=cast(Any, network),
    )
    assert network.connected == [PUBLIC]
    assert b"webhook-id: msg_1" in network.sent
    assert outcome.response_status == 500
    assert outcome.error == "http_status"
    assert outcome.excerpt == BODY[:1024].decode(errors="replace").replace("\x00", "\ufffd")
    assert len(outcome.excerpt.encode()) <= 1024 + 3  # a character cut in two becomes U+FFFD
    assert "\x00" not in outcome.excerpt


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://hooks.example.com/in", "10.0.0.5"),  # a public-looking name, an internal address
        ("http://10.0.0.5/in", "10.0.0.5"),
        ("http://ollama.internal/in", "10.0.0.5"),
    ],
)
async def test_an_internal_receivers_answer_is_not_kept(url: str, address: str) -> None:
    network = answering(200, b"internal secrets")
    policy = OutboundPolicy(allow_private=True, resolver=resolving_to(address))
    outcome = await post(policy, url, body=b"{}", headers={}, seconds=5, network_backend=cast(Any, network))
    assert network.connected == [address]
    assert outcome.response_status == 200
    assert outcome.succeeded
    assert outcome.excerpt is None
