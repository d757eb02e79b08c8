"""A real S3 endpoint for tests: moto in server mode, in a process of its own, and what a test asks of it directly
(buckets, the objects in one, its pending multipart uploads), without the code under test in between."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.processes import free_port

_KEY = re.compile(r"<Key>([^<]+)</Key>")


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto S3 server on a free port; yields its URL."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/moto-api/", timeout=2)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start on port {port}") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(30)


@dataclass(frozen=True, slots=True)
class S3:
    """The moto server of the test session. moto checks no signature: any credentials do."""

    url: str

    def new_bucket(self) -> str:
        """A new empty bucket, one per test, so tests never see each other's objects."""
        name = f"folio-{uuid.uuid4().hex[:16]}"
        httpx.put(f"{self.url}/{name}").raise_for_status()
        return name

    def settings(self, bucket: str, **overrides: Any) -> dict[str, Any]:
        """`FOLIO_STORAGE__*` for the bucket, as a `storage` settings group."""
        return {
            "backend": "s3",
            "bucket": bucket,
            "endpoint_url": self.url,
            "access_key_id": "test",
            "secret_access_key": "test",
            "part_mb": 5,
            **overrides,
        }

    async def keys(self, bucket: str) -> list[str]:
        """Every object in the bucket (under any prefix)."""
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.url}/{bucket}", params={"list-type": "2"})
        response.raise_for_status()
        return _KEY.findall(response.text)

    async def pending_uploads(self, bucket: str) -> list[str]:
        """The keys of multipart uploads begun and neither completed nor aborted."""
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{self.url}/{bucket}", params={"uploads": ""})
        response.raise_for_status()
        return _KEY.findall(response.text)

    async def put(self, bucket: str, key: str, body: bytes) -> None:
        async with httpx.AsyncClient() as client:
            (await client.put(f"{self.url}/{bucket}/{key}", content=body)).raise_for_status()

    async def etag(self, bucket: str, key: str) -> str:
        async with httpx.AsyncClient() as client:
            response = await client.head(f"{self.url}/{bucket}/{key}")
        response.raise_for_status()
        return response.headers["etag"]
