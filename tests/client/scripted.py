"""A tiny HTTP server that answers from a script: each request takes the next answer (a status, headers, a body),
or has its connection closed unanswered; it notes when each request came."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DROP = "drop"  # close the connection without answering


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def envelope(code: str, message: str = "Try again.") -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": {}, "request_id": "scripted-1"}}


@dataclass
class Script:
    answers: list[Answer | str] = field(default_factory=list)
    seen: list[tuple[str, str, float]] = field(default_factory=list)  # method, path, monotonic time

    def gaps(self) -> list[float]:
        return [later[2] - earlier[2] for earlier, later in zip(self.seen, self.seen[1:], strict=False)]


@contextmanager
def scripted(*answers: Answer | str) -> Iterator[tuple[str, Script]]:
    script = Script(list(answers))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            script.seen.append((self.command, self.path, time.monotonic()))
            answer = script.answers.pop(0)
            if answer == DROP:
                self.close_connection = True
                return
            assert isinstance(answer, Answer)
            body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            content_type = "text/html" if isinstance(answer.body, bytes) else "application/json"
            for name, value in {"Content-Type": content_type, **answer.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
