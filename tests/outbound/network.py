"""A network backend for the outbound client that never touches the network: every connection answers one canned
response, and what was sent and where it connected are recorded."""

from __future__ import annotations

import asyncio
from typing import Any


class CannedNetwork:
    """Every connection answers one canned response; duck-typed as httpcore2's network backend."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.connected: list[str] = []
        self.sent = b""

    async def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> CannedNetwork.Stream:
        self.connected.append(host)
        return CannedNetwork.Stream(self)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    class Stream:
        def __init__(self, network: CannedNetwork) -> None:
            self.network = network
            self.unread = network.response

        async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
            data, self.unread = self.unread[:max_bytes], self.unread[max_bytes:]
            return data

        async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
            self.network.sent += buffer

        async def aclose(self) -> None:
            return None

        def get_extra_info(self, info: str) -> Any:
            return None


def answering(status: int, body: bytes) -> CannedNetwork:
    head = f"HTTP/1.1 {status} Whatever\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
    return CannedNetwork(head + body)
