"""A stand-in for a paid OpenAI-compatible API: a real HTTP server on localhost speaking its protocol.

It answers `POST /v1/embeddings` with deterministic vectors (the same text always gets the same vector), can be
told to fail the next requests with given statuses, and records what it received.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.live_server import serve_in_thread


@dataclass
class FakeOpenAI:
    dimension: int = 384
    fail_next: list[int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    base_url: str = ""

    def vector(self, text: str) -> list[float]:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        return [float(value) for value in np.random.default_rng(seed).normal(size=self.dimension)]

    async def embeddings(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"body": body, "authorization": request.headers.get("authorization")})
        if self.fail_next:
            status = self.fail_next.pop(0)
            error = {"error": {"message": f"fake failure {status}", "type": "fake", "code": str(status)}}
            return JSONResponse(error, status_code=status, headers={"retry-after": "0"})
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = [{"object": "embedding", "index": i, "embedding": self.vector(text)} for i, text in enumerate(inputs)]
        usage = {"prompt_tokens": len(inputs), "total_tokens": len(inputs)}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})


@contextmanager
def serve_fake_openai(fake: FakeOpenAI | None = None) -> Iterator[FakeOpenAI]:
    fake = fake or FakeOpenAI()
    app = Starlette(routes=[Route("/v1/embeddings", fake.embeddings, methods=["POST"])])
    with serve_in_thread(app, lifespan="off") as url:
        fake.base_url = f"{url}/v1"
        yield fake
